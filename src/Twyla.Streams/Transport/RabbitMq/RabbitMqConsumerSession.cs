using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Events;
using Twyla.Streams.Diagnostics;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// One consumer on one listener queue: its own channel with <c>basic.qos</c> prefetch, manual acks and
/// publisher confirms (for the copies that rejects and drops publish).
/// </summary>
/// <remarks>
/// <para>Every copy goes through the group's own direct exchange <c>{queue}.router</c>, mandatory and confirmed, and
/// the original is acked only once the copy is confirmed: the session needs no access to the default exchange, and
/// nothing is lost between the two.</para>
/// <para><b>Reject</b> publishes a copy (original properties and headers) with the deliveries so far in
/// <c>x-twyla-delivery-count</c>, the original routing key in <c>x-twyla-routing-key</c> and the reason in
/// <c>x-twyla-last-failure</c>: with a delay to the retry queue of that delay (routing key <c>retry-{delay}</c>), whose
/// messages expire back into the queue through the router; without one straight back (routing key <c>requeue</c>).
/// The same on classic and quorum queues, so the delivery count means the same on both.</para>
/// <para><b>Drop</b> publishes a copy (original headers kept) to <c>{queue}.dead-letter</c> (routing key
/// <c>dead-letter</c>) with the reason in <c>x-twyla-drop-reason</c> and the time in <c>x-twyla-dead-lettered-at</c>:
/// a drop never discards.</para>
/// <para><b>Acks</b> go to the broker as asked. Which tags are settled is the listen stage's ledger to know: it
/// settles each delivery once and acks with <c>multiple=true</c> only up to a tag it did not settle alone (acking a
/// settled tag closes the channel); a multiple ack skips the tags below it that a reject or drop acked already.</para>
/// </remarks>
internal sealed class RabbitMqConsumerSession : IConsumerSession
{
    private const int MaxReasonLength = 2000;

    private readonly RabbitMqTransport _transport;
    private readonly IChannel _channel;
    private readonly ListenerTopology _topology;
    private readonly IDeliveryTarget _target;
    private readonly ILogger _logger;
    private readonly Consumer _consumer;
    private string? _consumerTag;
    private int _failed;
    private int _closing;

    public RabbitMqConsumerSession(
        RabbitMqTransport transport, IChannel channel, ListenerTopology topology, IDeliveryTarget target, ILogger logger)
    {
        _transport = transport;
        _channel = channel;
        _topology = topology;
        _target = target;
        _logger = logger;
        _consumer = new Consumer(this);
        _channel.ChannelShutdownAsync += (_, reason) =>
        {
            OnShutdown(reason);
            return Task.CompletedTask;
        };
    }

    public async Task StartAsync(CancellationToken cancellationToken) =>
        _consumerTag = await _channel.BasicConsumeAsync(
            _topology.QueueName, autoAck: false, consumerTag: string.Empty, noLocal: false, exclusive: false,
            arguments: null, consumer: _consumer, cancellationToken).ConfigureAwait(false);

    public async Task AckAsync(ulong tag, bool multiple, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        await _channel.BasicAckAsync(tag, multiple, cancellationToken).ConfigureAwait(false);
    }

    public async Task StopConsumingAsync(CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        var tag = _consumerTag;
        if (tag is null || !_channel.IsOpen)
        {
            return;
        }

        // A cancel we ask for is answered by cancel-ok, which is not a failure (see Consumer.HandleBasicCancelAsync).
        _consumerTag = null;
        await _channel.BasicCancelAsync(tag, noWait: false, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Closes the channel (the broker requeues every unsettled delivery), off the consumer callback and bounded in time.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closing, 1) != 0)
        {
            return;
        }

        _transport.Untrack(this);
        await RabbitMqTransport.CloseChannelAsync(_channel).ConfigureAwait(false);
    }

    /// <summary>The transport is being disposed: tells the listener (the session is gone under it), then closes.</summary>
    internal async ValueTask CloseBecauseTransportDisposedAsync()
    {
        Fail(new ObjectDisposedException(
            nameof(EventBus),
            $"The event bus was disposed: the consumer on queue '{_topology.QueueName}' is closed and its unsettled events go back to the queue."));
        await DisposeAsync().ConfigureAwait(false);
    }

    private void ThrowIfClosed() =>
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _closing) != 0, this);

    /// <summary>A reason as headers keep it: at most <see cref="MaxReasonLength"/> characters.</summary>
    internal static string Cut(string text) => text.Length > MaxReasonLength ? text[..MaxReasonLength] + "…" : text;

    /// <summary>Publishes the copy through the group's router with <paramref name="key"/>, waits for its confirm, then acks the original.</summary>
    private async Task PublishCopyThenAckAsync(
        ulong tag, string key, BasicProperties props, ReadOnlyMemory<byte> body, string what, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        await RabbitMqTopology.PublishToRouterAsync(_channel, _topology, key, props, body, what, _transport.ConfirmTimeout, cancellationToken).ConfigureAwait(false);
        await _channel.BasicAckAsync(tag, multiple: false, CancellationToken.None).ConfigureAwait(false); // the copy is confirmed: settle
    }

    private void OnDelivery(
        ulong deliveryTag, bool redelivered, string exchange, string routingKey, IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body)
    {
        // The client lends the body only for the duration of the callback: copy it once, here.
        var copy = body.ToArray();
        var headers = properties.Headers;
        var originalKey = RabbitMqTopology.CopiedRoutingKey(_topology, exchange, headers) ?? routingKey;
        // Deliveries of earlier copies (our retries count them in a header) plus this copy's own: the broker's count of
        // returns on quorum queues, the redelivered flag on classic ones.
        var before = Math.Clamp(CloudEventsAmqpCodec.HeaderLong(headers, CloudEventsAmqpCodec.DeliveryCountHeader) ?? 0, 0, int.MaxValue / 2);
        var returned = _topology.QueueType == QueueType.Quorum
            ? Math.Clamp(CloudEventsAmqpCodec.HeaderLong(headers, CloudEventsAmqpCodec.QuorumDeliveryCountHeader) ?? 0, 0, int.MaxValue / 2)
            : (redelivered ? 1 : 0);
        var count = (int)(before + returned + 1);
        var decoded = _transport.Codec.Decode(originalKey, properties, copy);
        _target.OnDelivery(new TransportDelivery(
            deliveryTag,
            decoded.Envelope,
            decoded.Error,
            redelivered || count > 1,
            count,
            originalKey,
            CloudEventsAmqpCodec.HeaderString(headers, CloudEventsAmqpCodec.LastFailureHeader),
            new Delivery(this, deliveryTag, count, copy, properties, originalKey)));
    }

    private void OnShutdown(ShutdownEventArgs reason)
    {
        if (Volatile.Read(ref _closing) != 0)
        {
            return;
        }

        Fail(new InvalidOperationException(
            $"The consumer on queue '{_topology.QueueName}' stopped: its channel was closed ({reason.ReplyCode} {reason.ReplyText}).",
            reason.Exception));
    }

    private void Fail(Exception cause)
    {
        if (Volatile.Read(ref _closing) != 0 || Interlocked.Exchange(ref _failed, 1) != 0)
        {
            return;
        }

        _logger.ConsumerFailed(cause, _topology.QueueName);
        _target.OnConsumerFailed(cause);
    }

    /// <summary>
    /// What a delivery keeps for a later reject or drop: its session, its tag and delivery count, the body copy, the
    /// properties and the original routing key.
    /// </summary>
    private sealed class Delivery(
        RabbitMqConsumerSession session, ulong tag, int deliveryCount, byte[] body, IReadOnlyBasicProperties properties, string routingKey)
        : IDeliveryHandle
    {
        public Task RejectAsync(TimeSpan delay, string reason, CancellationToken cancellationToken)
        {
            var props = RabbitMqTopology.CopyForRouter(properties, routingKey);
            props.Headers![CloudEventsAmqpCodec.DeliveryCountHeader] = (long)deliveryCount;
            props.Headers[CloudEventsAmqpCodec.LastFailureHeader] = Cut(reason);
            var key = delay > TimeSpan.Zero ? RetrySchedule.Name(delay) : ListenerTopology.RequeueKey;
            return session.PublishCopyThenAckAsync(tag, key, props, body, "retry", cancellationToken);
        }

        public Task DropAsync(string reason, CancellationToken cancellationToken)
        {
            var props = RabbitMqTopology.CopyForRouter(properties, routingKey);
            props.Headers![CloudEventsAmqpCodec.DropReasonHeader] = Cut(string.IsNullOrWhiteSpace(reason) ? "dropped" : reason);
            props.Headers[CloudEventsAmqpCodec.DeliveryCountHeader] = (long)deliveryCount;
            props.Headers[CloudEventsAmqpCodec.DeadLetteredAtHeader] = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            props.DeliveryMode = DeliveryModes.Persistent;
            return session.PublishCopyThenAckAsync(tag, ListenerTopology.DeadLetterKey, props, body, "dead-letter", cancellationToken);
        }
    }

    private sealed class Consumer(RabbitMqConsumerSession session) : AsyncDefaultBasicConsumer(session._channel)
    {
        public override Task HandleBasicDeliverAsync(
            string consumerTag,
            ulong deliveryTag,
            bool redelivered,
            string exchange,
            string routingKey,
            IReadOnlyBasicProperties properties,
            ReadOnlyMemory<byte> body,
            CancellationToken cancellationToken = default)
        {
            session.OnDelivery(deliveryTag, redelivered, exchange, routingKey, properties, body);
            return Task.CompletedTask;
        }

        public override Task HandleBasicCancelAsync(string consumerTag, CancellationToken cancellationToken = default)
        {
            // basic.cancel from the broker (e.g. the queue was deleted); a cancel we asked for arrives as cancel-ok.
            session.Fail(new InvalidOperationException(
                $"The broker cancelled the consumer on queue '{session._topology.QueueName}' (was the queue deleted?)."));
            return base.HandleBasicCancelAsync(consumerTag, cancellationToken);
        }
    }
}
