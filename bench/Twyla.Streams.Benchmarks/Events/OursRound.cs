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
        var listener = StartListener(bus, materializer, eventName, group, count, options, checkpoints);
        await broker.WaitForConsumerAsync(queue, TimeSpan.FromSeconds(30));
        var (emitted, started) = StartEmitter(bus, materializer, eventName, count, options);
        _ = emitted.ContinueWith(t => listener.Fail(t.Exception!), TaskContinuationOptions.OnlyOnFaulted);

        var end = await listener.AllAcked.WaitAsync(RoundResult.Timeout(count));
        await emitted;
        await listener.Control.DrainAsync();
        var left = await broker.MessageCountAsync(queue);
        await broker.DeleteQueueAsync(queue);
        return new RoundResult(count, Stopwatch.GetElapsedTime(started(), end), left);
    }

    /// <summary>Emit only (nobody consumes yet), then consume only what is in the queue: two figures.</summary>
    public static async Task<(RoundResult Emit, RoundResult Consume)> RunSplitAsync(
        EventBus bus, IMaterializer materializer, Broker broker, string eventName, string group, int count, EventsOptions options)
    {
        var listen = ListenSettings.Default.WithPrefetch(options.Prefetch);
        var queue = $"{eventName}.{group}";
        await bus.DeclareGroupAsync(eventName, group, listen);
        var emitUsage = ResourceUsage.Now();
        var (emitted, started) = StartEmitter(bus, materializer, eventName, count, options);
        await emitted.WaitAsync(RoundResult.Timeout(count));
        var emit = new RoundResult(count, Stopwatch.GetElapsedTime(started()), 0).WithUsageSince(emitUsage);

        var consumeUsage = ResourceUsage.Now();
        var consumeStart = Stopwatch.GetTimestamp();
        var listener = StartListener(bus, materializer, eventName, group, count, options, null);
        var end = await listener.AllAcked.WaitAsync(RoundResult.Timeout(count));
        await listener.Control.DrainAsync();
        var left = await broker.MessageCountAsync(queue);
        await broker.DeleteQueueAsync(queue);
        return (emit, new RoundResult(count, Stopwatch.GetElapsedTime(consumeStart, end), left).WithUsageSince(consumeUsage));
    }

    private static (Task<Akka.Done> Done, Func<long> Started) StartEmitter(
        EventBus bus, IMaterializer materializer, string eventName, int count, EventsOptions options)
    {
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
        return (emitted, () => Volatile.Read(ref start));
    }

    private sealed record Listener(IListenControl Control, Task<long> AllAcked, Action<Exception> Fail);

    private static Listener StartListener(
        EventBus bus, IMaterializer materializer, string eventName, string group, int count, EventsOptions options,
        IReadOnlyList<Checkpoint>? checkpoints)
    {
        // Counted after AckOnCompletion: an event is counted once its ack was recorded by the listen stage (acks reach
        // the broker in batches, the last one as soon as nothing emitted is unsettled; the queue is checked afterwards).
        var allAcked = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        long handled = 0;
        var next = 0;
        var (control, listened) = bus.Listen<BookingConfirmed>(eventName, group, ListenSettings.Default.WithPrefetch(options.Prefetch))
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
        void Fail(Exception e) => allAcked.TrySetException(e);
        _ = control.Completion.ContinueWith(t => Fail(t.Exception!), TaskContinuationOptions.OnlyOnFaulted);
        _ = listened.ContinueWith(t => Fail(t.Exception!), TaskContinuationOptions.OnlyOnFaulted);
        return new Listener(control, allAcked.Task, Fail);
    }
}
