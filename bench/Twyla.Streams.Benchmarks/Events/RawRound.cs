using System.Diagnostics;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Benchmarks.Events;

/// <summary>
/// The baseline: plain RabbitMQ.Client 7 doing the same work as our pipeline. A publisher channel with confirms and
/// confirm tracking (each <c>BasicPublishAsync</c> completes on its confirm) keeps the same number of publishes in
/// flight as the emit stage; a consumer channel with the same prefetch parses each body into the same record and
/// acks it on its own (<c>multiple=false</c>). Same queue topology, same bytes, same connection layout (one connection,
/// a channel each).
/// </summary>
internal static class RawRound
{
    public static async Task<RoundResult> RunAsync(
        Broker broker, string exchange, string eventName, string group, int count, EventsOptions options, bool useLimiter)
    {
        var topology = ListenerTopology.Create(eventName, group, QueueType.Classic);
        var json = EventBusSettings.DefaultJsonOptions;
        var connection = broker.Connection;

        await using (var setup = await connection.CreateChannelAsync())
        {
            await RabbitMqTopology.DeclareListenerAsync(setup, exchange, topology, CancellationToken.None);
        }

        await using var consumerChannel = await connection.CreateChannelAsync();
        await consumerChannel.BasicQosAsync(0, (ushort)options.Prefetch, global: false);
        var allAcked = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        long acked = 0;
        var consumer = new AsyncEventingBasicConsumer(consumerChannel);
        consumer.ReceivedAsync += async (_, delivery) =>
        {
            var record = JsonSerializer.Deserialize<BookingConfirmed>(delivery.Body.Span, json);
            if (record is null)
            {
                allAcked.TrySetException(new InvalidDataException("a null record arrived"));
                return;
            }

            await consumerChannel.BasicAckAsync(delivery.DeliveryTag, multiple: false);
            if (Interlocked.Increment(ref acked) == count)
            {
                allAcked.TrySetResult(Stopwatch.GetTimestamp());
            }
        };
        var consumerTag = await consumerChannel.BasicConsumeAsync(topology.QueueName, autoAck: false, consumer);

        // With tracking on, BasicPublishAsync completes when the broker confirmed the message. The window is bounded
        // here like the emit stage bounds ours; with --raw-limiter the client's ThrottlingRateLimiter, with a limit
        // equal to that window, sits on top (DESIGN's pitfall: it starts delaying publishes once half full).
        var publisherOptions = new CreateChannelOptions(
            publisherConfirmationsEnabled: true,
            publisherConfirmationTrackingEnabled: true,
            outstandingPublisherConfirmationsRateLimiter: useLimiter ? new ThrottlingRateLimiter(options.MaxInFlight) : null);
        await using var publisher = await connection.CreateChannelAsync(publisherOptions);
        var props = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
        var window = new SemaphoreSlim(options.MaxInFlight, options.MaxInFlight);
        Exception? publishFailure = null;

        async Task PublishOneAsync(byte[] body)
        {
            try
            {
                await publisher.BasicPublishAsync(exchange, eventName, mandatory: false, props, body);
            }
            catch (Exception e)
            {
                publishFailure ??= e;
                allAcked.TrySetException(e);
            }
            finally
            {
                window.Release();
            }
        }

        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count && publishFailure is null; i++)
        {
            await window.WaitAsync();
            var body = JsonSerializer.SerializeToUtf8Bytes(BookingConfirmed.Sample(i), json);
            _ = PublishOneAsync(body);
        }

        var end = await allAcked.Task.WaitAsync(RoundResult.Timeout(count));
        for (var i = 0; i < options.MaxInFlight; i++)
        {
            await window.WaitAsync(); // every publish confirmed
        }

        await consumerChannel.BasicCancelAsync(consumerTag);
        await consumerChannel.CloseAsync();
        await publisher.CloseAsync();
        var left = await broker.MessageCountAsync(topology.QueueName);
        await broker.DeleteQueueAsync(topology.QueueName);
        return new RoundResult(count, Stopwatch.GetElapsedTime(start, end), left);
    }
}
