using System.Diagnostics;
using MassTransit;

namespace Twyla.Streams.Benchmarks.Events;

/// <summary>
/// MassTransit 8 doing the same work as our pipeline on the same broker: <c>Publish</c> of the same record with
/// publisher confirms and the same number of publishes in flight, a receive endpoint with the same prefetch and
/// concurrent message limit (= our handler parallelism) running a trivial handler; MassTransit acks each message when
/// its handler completed. Its messages are MassTransit's JSON envelope (<c>application/vnd.masstransit+json</c>),
/// persistent, through the message type's exchange into the endpoint's exchange and durable queue.
/// </summary>
internal static class MassTransitRound
{
    public static async Task<RoundResult> RunAsync(MassTransitSide mt, Broker broker, string queue, int count, EventsOptions options)
    {
        // Counted when the handler ran (MassTransit acks right after it returns; the queue is checked afterwards).
        var allHandled = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        long handled = 0;
        var endpoint = await mt.ConnectAsync(queue, options.Prefetch, options.Parallelism, e => e.Handler<BookingConfirmed>(_ =>
        {
            if (Interlocked.Increment(ref handled) == count)
            {
                allHandled.TrySetResult(Stopwatch.GetTimestamp());
            }

            return Task.CompletedTask;
        }));
        TimeSpan elapsed;
        try
        {
            await broker.WaitForConsumerAsync(queue, TimeSpan.FromSeconds(30));
            var start = Stopwatch.GetTimestamp();
            var published = mt.PublishAsync(
                Enumerable.Range(0, count).ToAsyncEnumerable(), BookingConfirmed.Sample, options.MaxInFlight, e => allHandled.TrySetException(e));
            var end = await allHandled.Task.WaitAsync(RoundResult.Timeout(count));
            await published;
            elapsed = Stopwatch.GetElapsedTime(start, end);
        }
        finally
        {
            await endpoint.StopAsync();
        }

        var left = await broker.MessageCountAsync(queue);
        await MassTransitSide.DeleteEndpointAsync(broker, queue);
        return new RoundResult(count, elapsed, left);
    }
}
