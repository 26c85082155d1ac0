using System.Diagnostics;
using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;

namespace Twyla.Streams.Benchmarks.Events;

/// <summary>
/// Our pipeline: <see cref="EventBus.Emit{T}(string, EmitSettings)"/> → broker → <see cref="EventBus.Listen{T}(string, string, ListenSettings)"/>
/// with <see cref="AckOnCompletion"/> running a trivial handler, emitter and listener concurrently.
/// </summary>
internal static class OursRound
{
    /// <summary>A point at which the memory run reads the process's memory.</summary>
    public sealed record Checkpoint(long AfterEvents, Action Read);

    public static async Task<RoundResult> RunAsync(
        EventBus bus, IMaterializer materializer, Broker broker, string eventName, string group, int count, EventsOptions options,
        IReadOnlyList<Checkpoint>? checkpoints = null)
    {
        var listen = ListenSettings.Default.WithPrefetch(options.Prefetch);
        var queue = $"{eventName}.{group}";
        await bus.DeclareGroupAsync(eventName, group, listen);

        // Counted after AckOnCompletion: an event is counted once its ack was recorded by the listen stage (acks reach
        // the broker in batches, the last one as soon as nothing emitted is unsettled; the queue is checked below).
        var allAcked = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        long handled = 0;
        var next = 0;
        var (control, listened) = bus.Listen<BookingConfirmed>(eventName, group, listen)
            .Via(AckOnCompletion.Flow<BookingConfirmed>(_ => Task.CompletedTask, AckOnCompletionSettings.Create(options.Parallelism)))
            .ToMaterialized(
                Sink.ForEach<HandledEvent>(h =>
                {
                    if (h.Settlement != SettleKind.Ack)
                    {
                        allAcked.TrySetException(new InvalidOperationException($"event {h.Metadata.Id} was {h.Settlement}: {h.Reason}"));
                    }

                    var n = ++handled;
                    if (checkpoints is not null && next < checkpoints.Count && n == checkpoints[next].AfterEvents)
                    {
                        checkpoints[next++].Read();
                    }

                    if (n == count)
                    {
                        allAcked.TrySetResult(Stopwatch.GetTimestamp());
                    }
                }),
                Keep.Both)
            .Run(materializer);
        _ = control.Completion.ContinueWith(t => allAcked.TrySetException(t.Exception!.InnerExceptions), TaskContinuationOptions.OnlyOnFaulted);
        _ = listened.ContinueWith(t => allAcked.TrySetException(t.Exception!.InnerExceptions), TaskContinuationOptions.OnlyOnFaulted);
        await broker.WaitForConsumerAsync(queue, TimeSpan.FromSeconds(30));

        long start = 0;
        var emitted = Source.From(Enumerable.Range(0, count))
            .Select(i =>
            {
                if (i == 0)
                {
                    Volatile.Write(ref start, Stopwatch.GetTimestamp());
                }

                return BookingConfirmed.Sample(i);
            })
            .RunWith(bus.Emit<BookingConfirmed>(eventName, EmitSettings.Default.WithMaxInFlight(options.MaxInFlight)), materializer);
        _ = emitted.ContinueWith(t => allAcked.TrySetException(t.Exception!.InnerExceptions), TaskContinuationOptions.OnlyOnFaulted);

        var end = await allAcked.Task.WaitAsync(RoundResult.Timeout(count));
        await emitted;
        await control.DrainAsync();
        var left = await broker.MessageCountAsync(queue);
        await broker.DeleteQueueAsync(queue);
        return new RoundResult(count, Stopwatch.GetElapsedTime(Volatile.Read(ref start), end), left);
    }
}
