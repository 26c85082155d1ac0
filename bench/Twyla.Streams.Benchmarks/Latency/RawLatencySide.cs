using System.Text.Json;
using System.Threading.Channels;
using RabbitMQ.Client;
using Twyla.Streams.Benchmarks.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Benchmarks.Latency;

/// <summary>
/// The raw baseline: plain RabbitMQ.Client 7 publishing each record serialized with the same options (persistent,
/// <c>content_type</c> only, confirms tracked, the same window), and the events benchmark's raw consumer (same prefetch,
/// deserializes each body, records the latency, acks it on its own) on the same topology as ours.
/// </summary>
internal sealed class RawLatencySide(Broker broker, string exchange, LatencyOptions options) : LatencySide("raw")
{
    private const string Group = "raw";

    public override string QueueOf(string round) => ListenerTopology.Create(round, Group, QueueType.Classic).QueueName;

    public override async Task<Func<Task>> StartConsumerAsync(string round, LatencyRecorder recorder)
    {
        var topology = await RawRound.DeclareAsync(broker, exchange, round, Group);
        var consumer = await RawRound.RawConsumer.StartAsync(broker.Connection, topology.QueueName, int.MaxValue, options.Prefetch, recorder.Handled);
        _ = consumer.AllAcked.ContinueWith(t => recorder.Fail(t.Exception!), TaskContinuationOptions.OnlyOnFaulted);
        await broker.WaitForConsumerAsync(topology.QueueName, TimeSpan.FromSeconds(30));
        return async () =>
        {
            await consumer.StopAsync();
            await consumer.DisposeAsync();
        };
    }

    public override async Task PublishAsync(string round, ChannelReader<int> indexes, Action<Exception> fail)
    {
        var json = EventBusSettings.DefaultJsonOptions;
        var properties = new BasicProperties { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };
        await using var publisher = await broker.Connection.CreateChannelAsync(
            new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await PublishWindow.RunAsync(
            indexes.ReadAllAsync(),
            options.MaxInFlight,
            i => publisher.BasicPublishAsync(exchange, round, mandatory: false, properties, JsonSerializer.SerializeToUtf8Bytes(BookingConfirmed.Sample(i), json)).AsTask(),
            fail);
        await publisher.CloseAsync();
    }

    public override Task DeleteAsync(string round) => broker.DeleteQueueAsync(QueueOf(round));
}
