using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using RabbitMQ.Client.Exceptions;
using Twyla.Streams.Contracts;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// The contract log on RabbitMQ: a stream queue <c>{exchange}.contracts</c> (durable, replicated, never consumed
/// destructively) fed through a fanout exchange of the same name. Readers replay it from its first entry; a reader
/// first appends a sync marker of its own and reads until it meets it, so it has read everything stored before it
/// started (a stream has no end-of-log signal over AMQP 0-9-1). The log's channel also watches the stream (a consumer
/// that takes one entry and never more), so that the broker tells this bus when the stream is deleted (<see cref="Lost"/>).
/// </summary>
internal sealed class RabbitMqContractLog(RabbitMqTransport transport)
{
    /// <summary>The suffix of the log's stream and exchange, after the events exchange's name.</summary>
    public const string Suffix = ".contracts";

    private const string StreamOffsetArgument = "x-stream-offset";
    private const ushort ReadPrefetch = 500;

    /// <summary>
    /// One opening (channel and declaration) at a time per bus: concurrent first declarations of a new stream can make
    /// RabbitMQ 3.10 fail with INTERNAL_ERROR. Appends themselves do not wait for each other.
    /// </summary>
    private readonly SemaphoreSlim _opening = new(1, 1);

    /// <summary>The log's publishing channel (confirms on), on which exchange, stream and binding were declared.</summary>
    private IChannel? _channel;

    private int _channelsOpened;

    /// <summary>How many publishing channels the log opened (and declared its topology on): one per connection.</summary>
    internal int ChannelsOpened => Volatile.Read(ref _channelsOpened);

    /// <summary>
    /// Raised when what this bus stored in the log may be gone: the log's channel was closed by the broker or a lost
    /// connection (<see cref="ContractLogLoss.Disconnected"/>), or the broker cancelled the channel's watch because the
    /// stream was deleted (<see cref="ContractLogLoss.Deleted"/>; the channel is dropped first, so the next append
    /// declares the log again).
    /// </summary>
    public event Action<ContractLogLoss>? Lost;

    /// <summary>The name of the log's stream queue and of its exchange.</summary>
    public string Name => transport.Settings.Exchange + Suffix;

    /// <summary>The arguments of the stream: segments of 8 MB (the default 500 MB is far more than a contract log needs).</summary>
    public static Dictionary<string, object?> StreamArguments() => new(StringComparer.Ordinal)
    {
        [RabbitMqTopology.QueueTypeArgument] = "stream",
        ["x-stream-max-segment-size-bytes"] = 8_000_000L,
    };

    /// <summary>
    /// Appends <paramref name="record"/>: one publish on the log's channel, which declared exchange, stream and binding
    /// when it opened (once per connection; a channel the broker closed, or one whose publish failed, is replaced and
    /// declares again). Appends do not queue behind each other, and the confirm timeout starts when the publish is sent.
    /// Right after a broker restart the stream takes a moment to start again (see <see cref="IsStarting"/>): the append
    /// tries again every 200 ms, within the confirm timeout.
    /// </summary>
    public async Task AppendAsync(ContractRecord record, CancellationToken cancellationToken)
    {
        using var retries = Bounded(cancellationToken);
        while (true)
        {
            IChannel? channel = null;
            try
            {
                channel = await ChannelAsync(retries.Token).ConfigureAwait(false);
                var props = new BasicProperties
                {
                    ContentType = "application/json",
                    DeliveryMode = DeliveryModes.Persistent,
                    Type = record.Kind,
                };
                using var confirm = Bounded(cancellationToken); // from the moment the publish is sent
                await channel.BasicPublishAsync(Name, string.Empty, mandatory: true, props, record.ToBytes(), confirm.Token).ConfigureAwait(false);
                return;
            }
            catch (OperationInterruptedException e) when (IsStarting(e) && !retries.IsCancellationRequested)
            {
                await ForgetAsync(channel).ConfigureAwait(false);
                await Task.Delay(TimeSpan.FromMilliseconds(200), retries.Token).ConfigureAwait(false);
            }
            catch (PublishReturnException) when (!retries.IsCancellationRequested)
            {
                // Unroutable: the stream (and so its binding) was deleted. The next channel declares it again.
                await ForgetAsync(channel).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await ForgetAsync(channel).ConfigureAwait(false); // the next append opens and declares again
                throw;
            }
        }
    }

    /// <summary>The log's channel; opens one and declares the log's topology on it when there is none open.</summary>
    private async Task<IChannel> ChannelAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _channel) is { IsOpen: true } open)
        {
            return open;
        }

        await _opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_channel is { IsOpen: true } current)
            {
                return current;
            }

            await ForgetAsync(_channel).ConfigureAwait(false);
            var channel = await transport.OpenChannelAsync(ConnectionRole.Contracts, confirms: true, cancellationToken).ConfigureAwait(false);
            try
            {
                await DeclareAsync(channel, cancellationToken).ConfigureAwait(false);
                await WatchAsync(channel, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await RabbitMqTransport.CloseChannelAsync(channel).ConfigureAwait(false);
                throw;
            }

            Interlocked.Increment(ref _channelsOpened);
            Volatile.Write(ref _channel, channel);
            return channel;
        }
        finally
        {
            _opening.Release();
        }
    }

    /// <summary>
    /// Watches the stream on the log's <paramref name="channel"/>: a consumer from the next entry with a prefetch of one
    /// that never acknowledges, so it takes at most one entry and costs nothing after; the broker cancels it when the
    /// stream is deleted. A channel closed by the broker or a lost connection (not by this bus) is reported too.
    /// </summary>
    private async Task WatchAsync(IChannel channel, CancellationToken cancellationToken)
    {
        channel.ChannelShutdownAsync += (_, reason) =>
        {
            if (reason.Initiator != ShutdownInitiator.Application)
            {
                Lost?.Invoke(ContractLogLoss.Disconnected);
            }

            return Task.CompletedTask;
        };
        await channel.BasicQosAsync(0, 1, global: false, cancellationToken).ConfigureAwait(false);
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal) { [StreamOffsetArgument] = "next" };
        await channel.BasicConsumeAsync(Name, autoAck: false, string.Empty, noLocal: false, exclusive: false, arguments, new Watch(channel, DeletedAsync), cancellationToken)
            .ConfigureAwait(false);
    }

    /// <summary>The stream of <paramref name="channel"/> was deleted: drop the channel (the next append declares the log again) and report it.</summary>
    private async Task DeletedAsync(IChannel channel)
    {
        await ForgetAsync(channel).ConfigureAwait(false);
        Lost?.Invoke(ContractLogLoss.Deleted);
    }

    /// <summary>The consumer that watches the stream: deliveries are left unacknowledged; a cancel by the broker means the stream is gone.</summary>
    private sealed class Watch(IChannel channel, Func<IChannel, Task> deleted) : AsyncDefaultBasicConsumer(channel)
    {
        public override async Task HandleBasicCancelAsync(string consumerTag, CancellationToken cancellationToken)
        {
            await base.HandleBasicCancelAsync(consumerTag, cancellationToken).ConfigureAwait(false);
            _ = Task.Run(() => deleted(Channel), CancellationToken.None); // not on the client's dispatcher, which closing the channel waits for
        }
    }

    /// <summary>Drops <paramref name="channel"/> as the log's channel (if it still is) and closes it.</summary>
    private async Task ForgetAsync(IChannel? channel)
    {
        if (channel is not null && ReferenceEquals(Interlocked.CompareExchange(ref _channel, null, channel), channel))
        {
            await RabbitMqTransport.CloseChannelAsync(channel).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Whether the broker refused because the stream is still starting: NOT_FOUND "… is down or inaccessible" on the
    /// declaration, RESOURCE_ERROR "Stream not found" on the publish, or INTERNAL_ERROR while another service declares
    /// the new stream at the same moment (these close the contract connection; the next try connects again).
    /// </summary>
    private static bool IsStarting(OperationInterruptedException e) => e.ShutdownReason switch
    {
        { ReplyCode: Constants.NotFound, ReplyText: { } text } => text.Contains("down or inaccessible", StringComparison.Ordinal),
        { ReplyCode: Constants.ResourceError, ReplyText: { } text } => text.Contains("Stream not found", StringComparison.Ordinal),
        { ReplyCode: Constants.InternalError } => true, // seen when services declare a new stream at the same moment
        _ => false,
    };

    public async Task<IReadOnlyList<ContractRecord>> ReadAsync(CancellationToken cancellationToken)
    {
        var marker = ContractRecord.Sync();
        await AppendAsync(marker, cancellationToken).ConfigureAwait(false);

        using var bounded = Bounded(cancellationToken);
        var channel = await transport.OpenChannelAsync(ConnectionRole.Contracts, confirms: false, bounded.Token).ConfigureAwait(false);
        try
        {
            var records = new List<ContractRecord>();
            var complete = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            await channel.BasicQosAsync(0, ReadPrefetch, global: false, bounded.Token).ConfigureAwait(false);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                // One consumer's deliveries arrive one at a time, in log order.
                if (!complete.Task.IsCompleted && ContractRecord.Parse(delivery.Body.Span) is { } record)
                {
                    if (record.Kind != ContractRecord.SyncKind)
                    {
                        records.Add(record);
                    }
                    else if (record.Id == marker.Id)
                    {
                        complete.TrySetResult();
                    }
                }

                await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false, CancellationToken.None).ConfigureAwait(false);
            };
            consumer.ShutdownAsync += (_, reason) =>
            {
                complete.TrySetException(new InvalidOperationException($"the contract log's consumer stopped: {reason.ReplyText}"));
                return Task.CompletedTask;
            };
            var arguments = new Dictionary<string, object?>(StringComparer.Ordinal) { [StreamOffsetArgument] = "first" };
            await channel.BasicConsumeAsync(Name, autoAck: false, string.Empty, noLocal: false, exclusive: false, arguments, consumer, bounded.Token)
                .ConfigureAwait(false);
            await complete.Task.WaitAsync(bounded.Token).ConfigureAwait(false);
            return records.ToArray();
        }
        finally
        {
            await RabbitMqTransport.CloseChannelAsync(channel).ConfigureAwait(false);
        }
    }

    public async Task<bool> QueueExistsAsync(string queue, CancellationToken cancellationToken)
    {
        var channel = await transport.OpenChannelAsync(ConnectionRole.Contracts, confirms: false, cancellationToken).ConfigureAwait(false);
        try
        {
            await channel.QueueDeclarePassiveAsync(queue, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.NotFound)
        {
            return false;
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.AccessRefused)
        {
            return true; // another group's queue this user may not look at: it exists (a missing queue is NOT_FOUND first)
        }
        finally
        {
            await RabbitMqTransport.CloseChannelAsync(channel).ConfigureAwait(false);
        }
    }

    private async Task DeclareAsync(IChannel channel, CancellationToken cancellationToken)
    {
        await channel.ExchangeDeclareAsync(Name, ExchangeType.Fanout, durable: true, autoDelete: false, arguments: null, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        await channel.QueueDeclareAsync(Name, durable: true, exclusive: false, autoDelete: false, StreamArguments(), cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        await channel.QueueBindAsync(Name, Name, string.Empty, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Every log operation gives up after the transport's confirm timeout: none waits forever for a blocked or silent broker.</summary>
    private CancellationTokenSource Bounded(CancellationToken cancellationToken)
    {
        var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(transport.ConfirmTimeout);
        return bounded;
    }
}
