using System.Threading.Channels;
using MassTransit;
using Twyla.Streams.Benchmarks.Events;

namespace Twyla.Streams.Benchmarks.Latency;

/// <summary>
/// MassTransit 8: <c>Publish</c> of each record (publisher confirms, the same window), a receive endpoint per round
/// with the same prefetch and concurrent message limit whose handler records the latency.
/// </summary>
internal sealed class MassTransitLatencySide(MassTransitSide mt, Broker broker, LatencyOptions options) : LatencySide("masstransit")
{
    public override string QueueOf(string round) => $"{round}.masstransit";

    public override async Task<Func<Task>> StartConsumerAsync(string round, LatencyRecorder recorder)
    {
        var endpoint = await mt.ConnectAsync(QueueOf(round), options.Prefetch, options.Parallelism, e => e.Handler<BookingConfirmed>(context =>
        {
            recorder.Handled(context.Message);
            return Task.CompletedTask;
        }));
        await broker.WaitForConsumerAsync(QueueOf(round), TimeSpan.FromSeconds(30));
        return () => endpoint.StopAsync();
    }

    public override Task PublishAsync(string round, ChannelReader<int> indexes, Action<Exception> fail) =>
        mt.PublishAsync(indexes.ReadAllAsync(), BookingConfirmed.Sample, options.MaxInFlight, fail);

    public override Task DeleteAsync(string round) => MassTransitSide.DeleteEndpointAsync(broker, QueueOf(round));
}
