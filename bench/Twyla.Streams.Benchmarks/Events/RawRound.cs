using System.Diagnostics;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Twyla.Streams.Emit;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Benchmarks.Events;

/// <summary>
/// The baseline: plain RabbitMQ.Client 7 doing the same work as our pipeline. A publisher channel with confirms and
/// confirm tracking (each <c>BasicPublishAsync</c> completes on its confirm) keeps the same number of publishes in
/// flight as the emit stage; a consumer channel with the same prefetch parses each body into the same record and
/// acks it on its own (<c>multiple=false</c>). Same queue topology, same body bytes, same connection layout (one
/// connection, a channel each).
/// </summary>
internal static class RawRound
{
    /// <summary>About as many bytes as our CloudEvents headers and native properties add to a message.</summary>
    private static readonly string Padding = new('x', 420);

    /// <summary>Variants of the baseline.</summary>
    public enum Variant
    {
        /// <summary>Plain properties (content type, persistent), the window bounded by a semaphore.</summary>
        Plain,

        /// <summary>As plain, plus the client's ThrottlingRateLimiter with a limit equal to the window.</summary>
        Limiter,

        /// <summary>As plain, but each message carries our CloudEvents properties and headers (our exact wire format).</summary>
        CloudEvents,

        /// <summary>Our <c>cloudEvents_*</c> and trace headers, without the native property copies.</summary>
        CloudEventsHeadersOnly,

        /// <summary>Our native properties (<c>message_id</c>, <c>correlation_id</c>, <c>timestamp</c>, <c>type</c>, <c>app_id</c>), no headers.</summary>
        CloudEventsPropertiesOnly,

        /// <summary>Plain properties, the body padded (a longer e-mail member) by as many bytes as our properties and headers take.</summary>
        Padded,

        /// <summary>The properties a caller makes of our envelope (<see cref="WireSteps"/>).</summary>
        Custom,
    }

    public static async Task<RoundResult> RunAsync(
        Broker broker, string exchange, string eventName, string group, int count, EventsOptions options, Variant variant,
        Func<EventEnvelope, BasicProperties>? custom = null)
    {
        var topology = await DeclareAsync(broker, exchange, eventName, group);
        await using var consumer = await RawConsumer.StartAsync(broker.Connection, topology.QueueName, count, options.Prefetch);
        var (published, start) = await PublishAsync(broker.Connection, exchange, eventName, count, options.MaxInFlight, variant, consumer.Fail, custom);
        var end = await consumer.AllAcked.WaitAsync(RoundResult.Timeout(count));
        await published;
        await consumer.StopAsync();
        var left = await broker.MessageCountAsync(topology.QueueName);
        await broker.DeleteQueueAsync(topology.QueueName);
        return new RoundResult(count, Stopwatch.GetElapsedTime(start, end), left);
    }

    /// <summary>Publish only (nobody consumes yet), then consume only what is in the queue: two figures.</summary>
    public static async Task<(RoundResult Emit, RoundResult Consume)> RunSplitAsync(
        Broker broker, string exchange, string eventName, string group, int count, EventsOptions options)
    {
        var topology = await DeclareAsync(broker, exchange, eventName, group);
        var emitUsage = ResourceUsage.Now();
        var (published, start) = await PublishAsync(broker.Connection, exchange, eventName, count, options.MaxInFlight, Variant.Plain, _ => { });
        await published.WaitAsync(RoundResult.Timeout(count));
        var emit = new RoundResult(count, Stopwatch.GetElapsedTime(start), 0).WithUsageSince(emitUsage);

        var consumeUsage = ResourceUsage.Now();
        var consumeStart = Stopwatch.GetTimestamp();
        await using var consumer = await RawConsumer.StartAsync(broker.Connection, topology.QueueName, count, options.Prefetch);
        var end = await consumer.AllAcked.WaitAsync(RoundResult.Timeout(count));
        await consumer.StopAsync();
        var left = await broker.MessageCountAsync(topology.QueueName);
        await broker.DeleteQueueAsync(topology.QueueName);
        return (emit, new RoundResult(count, Stopwatch.GetElapsedTime(consumeStart, end), left).WithUsageSince(consumeUsage));
    }

    /// <summary>Declares the queue of group <paramref name="group"/> for <paramref name="eventName"/>, as our listeners' topology.</summary>
    internal static async Task<ListenerTopology> DeclareAsync(Broker broker, string exchange, string eventName, string group)
    {
        var topology = ListenerTopology.Create(eventName, group, QueueType.Classic);
        await using var setup = await broker.Connection.CreateChannelAsync();
        await RabbitMqTopology.DeclareListenerAsync(setup, exchange, topology, CancellationToken.None);
        return topology;
    }

    /// <summary>Starts publishing <paramref name="count"/> records; returns the task of the last confirm and the start time.</summary>
    private static async Task<(Task Published, long Start)> PublishAsync(
        IConnection connection, string exchange, string routingKey, int count, int maxInFlight, Variant variant, Action<Exception> fail,
        Func<EventEnvelope, BasicProperties>? custom = null)
    {
        // With tracking on, BasicPublishAsync completes when the broker confirmed the message. The window is bounded
        // here like the emit stage bounds ours; with --raw-limiter the client's ThrottlingRateLimiter, with a limit
        // equal to that window, sits on top (a pitfall in docs/design.md: it starts delaying publishes once half full).
        var publisherOptions = new CreateChannelOptions(
            publisherConfirmationsEnabled: true,
            publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: variant == Variant.Limiter ? new ThrottlingRateLimiter(maxInFlight) : null);
        var publisher = await connection.CreateChannelAsync(publisherOptions);
        var start = Stopwatch.GetTimestamp();
        return (RunAsync(), start);

        async Task RunAsync()
        {
            var json = EventBusSettings.DefaultJsonOptions;
            var plain = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
            var busSettings = EventBusSettings.Create("twyla-bench");
            var window = new SemaphoreSlim(maxInFlight, maxInFlight);
            Exception? failure = null;

            async Task PublishOneAsync(BasicProperties props, ReadOnlyMemory<byte> body)
            {
                try
                {
                    await publisher.BasicPublishAsync(exchange, routingKey, mandatory: false, props, body);
                }
                catch (Exception e)
                {
                    failure ??= e;
                    fail(e);
                }
                finally
                {
                    window.Release();
                }
            }

            (BasicProperties, ReadOnlyMemory<byte>) Message(Variant v, int i)
            {
                if (v is Variant.Plain or Variant.Limiter)
                {
                    return (plain, JsonSerializer.SerializeToUtf8Bytes(BookingConfirmed.Sample(i), json));
                }

                if (v == Variant.Padded)
                {
                    var record = BookingConfirmed.Sample(i);
                    return (plain, JsonSerializer.SerializeToUtf8Bytes(record with { ContactEmail = record.ContactEmail + Padding }, json));
                }

                var envelope = EnvelopeFactory.Create(OutgoingEvent.Create(routingKey, BookingConfirmed.Sample(i)), busSettings);
                if (v == Variant.Custom)
                {
                    return (custom!(envelope), envelope.Data);
                }

                var ce = CloudEventsAmqpCodec.Encode(envelope);
                if (v == Variant.CloudEventsHeadersOnly)
                {
                    ce = new BasicProperties { ContentType = ce.ContentType, DeliveryMode = ce.DeliveryMode, Headers = ce.Headers };
                }
                else if (v == Variant.CloudEventsPropertiesOnly)
                {
                    ce.Headers = null;
                }

                return (ce, envelope.Data);
            }

            await Task.Yield();
            for (var i = 0; i < count && failure is null; i++)
            {
                await window.WaitAsync();
                var (props, body) = Message(variant, i);
                _ = PublishOneAsync(props, body);
            }

            for (var i = 0; i < maxInFlight; i++)
            {
                await window.WaitAsync(); // every publish confirmed
            }

            await publisher.CloseAsync();
            await publisher.DisposeAsync();
            if (failure is not null)
            {
                throw failure;
            }
        }
    }

    /// <summary>The baseline's consumer: deserializes each body, calls the optional hook, acks the message on its own.</summary>
    internal sealed class RawConsumer : IAsyncDisposable
    {
        private readonly IChannel _channel;
        private readonly TaskCompletionSource<long> _allAcked = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private string? _tag;
        private long _acked;

        private RawConsumer(IChannel channel) => _channel = channel;

        public Task<long> AllAcked => _allAcked.Task;

        public static async Task<RawConsumer> StartAsync(
            IConnection connection, string queue, int count, int prefetch, Action<BookingConfirmed>? handled = null)
        {
            var json = EventBusSettings.DefaultJsonOptions;
            var channel = await connection.CreateChannelAsync();
            await channel.BasicQosAsync(0, (ushort)prefetch, global: false);
            var raw = new RawConsumer(channel);
            var consumer = new AsyncEventingBasicConsumer(channel);
            consumer.ReceivedAsync += async (_, delivery) =>
            {
                var record = JsonSerializer.Deserialize<BookingConfirmed>(delivery.Body.Span, json);
                if (record is null)
                {
                    raw.Fail(new InvalidDataException("a null record arrived"));
                    return;
                }

                handled?.Invoke(record);
                await channel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
                if (Interlocked.Increment(ref raw._acked) == count)
                {
                    raw._allAcked.TrySetResult(Stopwatch.GetTimestamp());
                }
            };
            raw._tag = await channel.BasicConsumeAsync(queue, autoAck: false, consumer);
            return raw;
        }

        public void Fail(Exception e) => _allAcked.TrySetException(e);

        public async Task StopAsync()
        {
            if (_tag is { } tag)
            {
                _tag = null;
                await _channel.BasicCancelAsync(tag);
            }

            await _channel.CloseAsync();
        }

        public async ValueTask DisposeAsync() => await _channel.DisposeAsync();
    }
}
