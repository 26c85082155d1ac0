using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Microsoft.Extensions.Logging;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// One consumer on one listener queue: its own channel with <c>basic.qos</c> prefetch, manual acks and
/// publisher confirms (for the copies that rejects and drops publish).
/// </summary>
/// <remarks>
/// <para><b>Reject</b> puts the message back with a known delivery count. Quorum queues count deliveries
/// themselves (<c>x-delivery-count</c>), so a reject there is <c>basic.nack requeue=true</c>. Classic queues
/// do not, so a reject publishes a copy of the message to the same queue (default exchange, routing key =
/// queue name) with <c>x-twyla-delivery-count</c> = the deliveries so far and the original routing key in
/// <c>x-twyla-routing-key</c>, waits for the broker's confirm, then acks the original. The copy goes to the
/// back of the queue.</para>
/// <para><b>Drop</b> publishes a copy (original headers kept) to <c>{queue}.dead-letter</c> with the reason in
/// <c>x-twyla-drop-reason</c>, mandatory and confirmed, then acks the original: a drop never discards.</para>
/// <para><b>Acks</b> with <c>multiple=true</c> cover only tags this session has not settled one by one
/// (a reject or drop acked its tag already, and acking a tag twice closes the channel), so the session
/// keeps track of individually settled tags above its ack watermark.</para>
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
    private readonly SortedSet<ulong> _settledAbove = [];
    private ulong _ackedUpTo;
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

    public string QueueName => _topology.QueueName;

    internal IChannel Channel => _channel;

    public async Task StartAsync(CancellationToken cancellationToken) =>
        _consumerTag = await _channel.BasicConsumeAsync(
            _topology.QueueName, autoAck: false, consumerTag: string.Empty, noLocal: false, exclusive: false,
            arguments: null, consumer: _consumer, cancellationToken).ConfigureAwait(false);

    public async Task AckAsync(ulong tag, bool multiple, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        if (tag <= _ackedUpTo)
        {
            return;
        }

        if (!multiple)
        {
            if (_settledAbove.Contains(tag))
            {
                return;
            }

            await _channel.BasicAckAsync(tag, multiple: false, cancellationToken).ConfigureAwait(false);
            MarkSettled(tag);
            return;
        }

        // The highest tag up to `tag` that is still unsettled at the broker; acking multiple up to it
        // settles everything below that is still unsettled.
        var top = tag;
        while (top > _ackedUpTo && _settledAbove.Contains(top))
        {
            top--;
        }

        if (top > _ackedUpTo)
        {
            await _channel.BasicAckAsync(top, multiple: true, cancellationToken).ConfigureAwait(false);
        }

        _ackedUpTo = tag;
        while (_settledAbove.Count > 0 && _settledAbove.Min <= _ackedUpTo)
        {
            _settledAbove.Remove(_settledAbove.Min);
        }

        AdvanceWatermark();
    }

    public async Task RejectAsync(TransportDelivery delivery, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ThrowIfClosed();
        if (IsSettled(delivery.Tag))
        {
            return;
        }

        if (_topology.QueueType == QueueType.Quorum)
        {
            await _channel.BasicNackAsync(delivery.Tag, multiple: false, requeue: true, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await RepublishThenAckAsync(
                delivery, _topology.QueueName, CloudEventsAmqpCodec.DeliveryCountHeader, (long)delivery.DeliveryCount, persistent: false, "requeue", cancellationToken)
                .ConfigureAwait(false);
        }

        MarkSettled(delivery.Tag);
    }

    public async Task DropAsync(TransportDelivery delivery, string reason, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ThrowIfClosed();
        if (IsSettled(delivery.Tag))
        {
            return;
        }

        var text = string.IsNullOrWhiteSpace(reason) ? "dropped" : reason;
        await RepublishThenAckAsync(
            delivery,
            _topology.DeadLetterQueueName,
            CloudEventsAmqpCodec.DropReasonHeader,
            text.Length > MaxReasonLength ? text[..MaxReasonLength] + "…" : text,
            persistent: true,
            "dead-letter",
            cancellationToken).ConfigureAwait(false);
        MarkSettled(delivery.Tag);
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

    private static RabbitMqDeliveryState StateOf(TransportDelivery delivery) =>
        delivery.TransportState as RabbitMqDeliveryState
        ?? throw new ArgumentException("The delivery did not come from a RabbitMQ consumer session.", nameof(delivery));

    /// <summary>
    /// Publishes a copy of the delivery (original properties and headers, the original routing key, <paramref name="header"/>
    /// set; persistent when <paramref name="persistent"/>, else as the original) to <paramref name="queue"/>, waits for the
    /// broker's confirm, then acks the original.
    /// </summary>
    private async Task RepublishThenAckAsync(
        TransportDelivery delivery, string queue, string header, object value, bool persistent, string what, CancellationToken cancellationToken)
    {
        var state = StateOf(delivery);
        var props = CopyProperties(state);
        props.Headers![header] = value;
        if (persistent)
        {
            props.DeliveryMode = DeliveryModes.Persistent;
        }

        await PublishCopyAsync(queue, props, state.Body, what, cancellationToken).ConfigureAwait(false);
        await _channel.BasicAckAsync(delivery.Tag, multiple: false, cancellationToken).ConfigureAwait(false);
    }

    private static BasicProperties CopyProperties(RabbitMqDeliveryState state)
    {
        var props = new BasicProperties(state.Properties)
        {
            Headers = state.Properties.Headers is { } h
                ? new Dictionary<string, object?>(h, StringComparer.Ordinal)
                : new Dictionary<string, object?>(StringComparer.Ordinal),
        };
        props.Headers[CloudEventsAmqpCodec.RoutingKeyHeader] = state.RoutingKey;
        return props;
    }

    private async Task PublishCopyAsync(
        string queue, BasicProperties props, ReadOnlyMemory<byte> body, string what, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.BasicPublishAsync(string.Empty, queue, mandatory: true, props, body, cancellationToken).ConfigureAwait(false);
        }
        catch (PublishException e)
        {
            throw new InvalidOperationException(
                e.IsReturn
                    ? $"The {what} copy could not be published: the queue '{queue}' does not exist."
                    : $"The {what} copy to '{queue}' was not confirmed by the broker (nack).",
                e);
        }
    }

    private bool IsSettled(ulong tag) => tag <= _ackedUpTo || _settledAbove.Contains(tag);

    private void MarkSettled(ulong tag)
    {
        if (tag == _ackedUpTo + 1)
        {
            _ackedUpTo = tag;
            AdvanceWatermark();
        }
        else if (tag > _ackedUpTo)
        {
            _settledAbove.Add(tag);
        }
    }

    private void AdvanceWatermark()
    {
        while (_settledAbove.Count > 0 && _settledAbove.Min == _ackedUpTo + 1)
        {
            _ackedUpTo = _settledAbove.Min;
            _settledAbove.Remove(_ackedUpTo);
        }
    }

    private void OnDelivery(ulong deliveryTag, bool redelivered, string routingKey, IReadOnlyBasicProperties properties, ReadOnlyMemory<byte> body)
    {
        // The client lends the body only for the duration of the callback: copy it once, here.
        var copy = body.ToArray();
        var headers = properties.Headers;
        var originalKey = CloudEventsAmqpCodec.HeaderString(headers, CloudEventsAmqpCodec.RoutingKeyHeader) ?? routingKey;
        int count;
        if (_topology.QueueType == QueueType.Quorum)
        {
            count = (int)Math.Min(int.MaxValue - 1, CloudEventsAmqpCodec.HeaderLong(headers, CloudEventsAmqpCodec.QuorumDeliveryCountHeader) ?? 0) + 1;
        }
        else
        {
            var before = (int)Math.Min(int.MaxValue - 2, CloudEventsAmqpCodec.HeaderLong(headers, CloudEventsAmqpCodec.DeliveryCountHeader) ?? 0);
            count = before + 1 + (redelivered ? 1 : 0);
        }

        var decoded = _transport.Codec.Decode(originalKey, properties, copy);
        _target.OnDelivery(new TransportDelivery(
            deliveryTag,
            decoded.Envelope,
            decoded.Error,
            redelivered || count > 1,
            count,
            originalKey,
            new RabbitMqDeliveryState(copy, properties, originalKey)));
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

        _logger.LogWarning(cause, "RabbitMQ consumer on {Queue} failed", _topology.QueueName);
        _target.OnConsumerFailed(cause);
    }

    /// <summary>What a delivery keeps for a later reject or drop: the body copy, the properties and the original routing key.</summary>
    internal sealed record RabbitMqDeliveryState(byte[] Body, IReadOnlyBasicProperties Properties, string RoutingKey);

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
            session.OnDelivery(deliveryTag, redelivered, routingKey, properties, body);
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
