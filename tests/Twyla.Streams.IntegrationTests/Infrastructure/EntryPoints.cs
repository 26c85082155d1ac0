using System.Collections.Concurrent;
using Akka;
using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.Infrastructure;

/// <summary>The payload of the fault matrix: which entry point emitted it, and its number there.</summary>
public sealed record MatrixEvent(string Via, int N)
{
    public string Key => $"{Via}-{N}";
}

/// <summary>
/// The library's entry points running at once on one bus, as a service runs them, for one fault of the matrix:
/// <c>EmitAsync</c> called in a loop, an <c>Emit</c> sink and an <c>EmitFlow</c> stream emitting steadily, and
/// <c>Listen</c> + <c>AckOnCompletion</c> consuming all three (counting each event by its payload key, so duplicates
/// show and losses fail). <see cref="AssertFailedAsync"/> checks what each does during the fault,
/// <see cref="AssertRecoveredAsync(DateTime)"/> that each recovers as documented and that nothing confirmed was lost.
/// </summary>
internal sealed class EntryPoints : IAsyncDisposable
{
    public const string Pattern = "matrix.*";
    public const string EmitAsyncName = "matrix.emit-async";
    public const string SinkName = "matrix.sink";
    public const string FlowName = "matrix.flow";

    private static readonly EmitSettings StreamSettings = EmitSettings.Create(16); // the bus's confirm timeout: Documented.ConfirmTimeout

    private readonly EventBus _bus;
    private readonly IMaterializer _mat;
    private readonly ITestOutputHelper _output;
    private readonly ListenSettings _listen;
    private readonly ConcurrentDictionary<string, int> _received = new();
    private readonly ConcurrentDictionary<string, byte> _confirmed = new();
    private readonly ConcurrentQueue<Exception> _emitAsyncFailures = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<IListenControl> _listeners = [];
    private readonly SharedKillSwitch _streams = KillSwitches.Shared("matrix-emitters");
    private long _lastEmitAsyncSuccess;
    private int _sinkBatch;
    private Task _emitAsyncLoop = Task.CompletedTask;
    private Task _flowRun = Task.CompletedTask;
    private Task _sinkRun = Task.CompletedTask;

    private EntryPoints(EventBus bus, IMaterializer mat, ITestOutputHelper output, ListenSettings listen, string group)
    {
        _bus = bus;
        _mat = mat;
        _output = output;
        _listen = listen;
        Group = group;
    }

    public string Group { get; }

    /// <summary>The group's queue, which the listener's failures must name.</summary>
    public string Queue => $"{Pattern}.{Group}";

    /// <summary>The listener consuming now (the first, then the one started after the fault).</summary>
    public IListenControl Listener => _listeners[^1];

    /// <summary>
    /// Declares the group, starts the listener, emits a first batch through each entry point and waits until the
    /// listener handled it (connections and channels are open and events flow), then keeps the three emitters running.
    /// </summary>
    public static async Task<EntryPoints> StartAsync(EventBus bus, IMaterializer mat, ITestOutputHelper output, ListenSettings listen)
    {
        var run = new EntryPoints(bus, mat, output, listen, TestEvents.Group());
        await bus.DeclareGroupAsync(Pattern, run.Group, listen);
        run.StartListener();
        await run.EmitBatchesAsync();
        await run.AllConfirmedReceivedAsync();
        run._emitAsyncLoop = Task.Run(run.EmitAsyncLoopAsync);
        run._flowRun = run.RunFlow("flow-run", 1, int.MaxValue, Flow.Create<int>().Via(run._streams.Flow<int>()));
        run._sinkRun = run.RunSink("sink-run", 1, int.MaxValue, Flow.Create<int>().Via(run._streams.Flow<int>()));
        await TestEvents.Eventually(() => Task.FromResult(run._received.Keys.Count(k => k.StartsWith("flow-run-", StringComparison.Ordinal))), c => c > 5);
        return run;
    }

    /// <summary>
    /// During the fault: each <c>EmitAsync</c> call that failed did so with <see cref="EmitException"/> naming the event
    /// (at least one failed when <paramref name="emitAsyncFails"/>), the running sink and flow failed with
    /// <see cref="EmitException"/> naming an event, and when <paramref name="listenerFails"/> the listener's
    /// completion faulted with <c>ListenException</c> naming the queue. Nothing hangs beyond <see cref="Documented.Hang"/>.
    /// </summary>
    public async Task AssertFailedAsync(bool emitAsyncFails, bool listenerFails)
    {
        if (emitAsyncFails)
        {
            await TestEvents.Eventually(() => Task.FromResult(_emitAsyncFailures.Count), c => c > 0, Documented.Hang);
        }

        var flow = await Assert.ThrowsAnyAsync<Exception>(() => _flowRun.WaitAsync(Documented.Hang));
        _output.WriteLine($"EmitFlow failed: {flow.GetType().Name}: {flow.Message}");
        Documented.EmitFailure(flow, FlowName);
        var sink = await Assert.ThrowsAnyAsync<Exception>(() => _sinkRun.WaitAsync(Documented.Hang));
        _output.WriteLine($"Emit sink failed: {sink.GetType().Name}: {sink.Message}");
        Documented.EmitFailure(sink, SinkName);
        if (listenerFails)
        {
            var listen = await Assert.ThrowsAnyAsync<Exception>(() => Listener.Completion.WaitAsync(Documented.Hang));
            _output.WriteLine($"Listen failed: {listen.GetType().FullName}: {listen.Message}");
            Documented.ListenFailure(listen, Queue);
        }

        AssertEmitAsyncFailuresDocumented();
    }

    /// <summary>
    /// After the broker is back (<paramref name="backAt"/>): <c>EmitAsync</c> succeeds again by itself within
    /// <see cref="Documented.Recovery"/>; new sink and flow materializations on the same bus complete; a listener
    /// (a new materialization on the same bus whenever one failed, as a service restarts it) handles every event whose
    /// emit was confirmed, before, during and after the fault. A sink, flow or listener that failed without
    /// <see cref="AssertFailedAsync"/> having looked (a fault the clients may or may not see) failed as documented.
    /// </summary>
    public Task AssertRecoveredAsync(DateTime backAt) => AssertRecoveredAsync(backAt, Documented.Recovery);

    /// <summary>As <see cref="AssertRecoveredAsync(DateTime)"/>, with another documented recovery time.</summary>
    public async Task AssertRecoveredAsync(DateTime backAt, TimeSpan recovery)
    {
        try
        {
            await TestEvents.Eventually(
                () => Task.FromResult(new DateTime(Interlocked.Read(ref _lastEmitAsyncSuccess), DateTimeKind.Utc)),
                last => last > backAt,
                recovery + Documented.Tolerance);
        }
        catch (TimeoutException)
        {
            Assert.Fail(
                $"EmitAsync did not succeed again within {recovery.TotalSeconds} s (+{Documented.Tolerance.TotalSeconds} s) " +
                $"after the broker was back; last failure: {(_emitAsyncFailures.LastOrDefault() is { } e ? $"{e.GetType().Name}: {e.Message}" : "none")}");
        }

        await _stop.CancelAsync();
        await _emitAsyncLoop.WaitAsync(Documented.Hang);
        AssertEmitAsyncFailuresDocumented();

        _streams.Shutdown();
        await EndedAsDocumentedAsync(_flowRun, FlowName);
        await EndedAsDocumentedAsync(_sinkRun, SinkName);
        RestartListenerIfFailed();
        await EmitBatchesAsync();
        await AllConfirmedReceivedAsync();
        Assert.False(Listener.Completion.IsCompleted, $"the listener stopped: {Listener.Completion.Exception?.GetBaseException().Message}");
        _output.WriteLine(
            $"{_confirmed.Count} confirmed, {_received.Count} received, {_received.Values.Count(v => v > 1)} more than once, " +
            $"{_emitAsyncFailures.Count} EmitAsync failures");
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (var listener in _listeners)
        {
            _ = listener.ShutdownAsync();
        }

        await Task.WhenAny(Task.WhenAll(_listeners.Select(l => l.Completion)), Task.Delay(Documented.Hang));
        _stop.Dispose();
    }

    private static async Task EndedAsDocumentedAsync(Task run, string eventName)
    {
        try
        {
            await run.WaitAsync(Documented.Hang);
        }
        catch (EmitException e)
        {
            Documented.EmitFailure(e, eventName);
        }
    }

    /// <summary>A listener that failed is started again, as a service does, once its failure was checked.</summary>
    private void RestartListenerIfFailed()
    {
        if (Listener.Completion.IsFaulted)
        {
            var failure = Listener.Completion.Exception!.GetBaseException();
            _output.WriteLine($"Listen failed: {failure.GetType().FullName}: {failure.Message}");
            Documented.ListenFailure(failure, Queue);
            StartListener();
        }
    }

    private void StartListener()
    {
        var control = _bus.Listen<MatrixEvent>(Pattern, Group, _listen)
            .Via(AckOnCompletion.Flow<MatrixEvent>(
                e =>
                {
                    _received.AddOrUpdate(e.Payload.Key, 1, (_, n) => n + 1);
                    return Task.CompletedTask;
                },
                AckOnCompletionSettings.Create(8)))
            .To(Sink.Ignore<HandledEvent>())
            .Run(_mat);
        _listeners.Add(control);
    }

    /// <summary>Ten events through each entry point, each batch completed (confirmed) before this returns.</summary>
    private async Task EmitBatchesAsync()
    {
        var batch = Interlocked.Increment(ref _sinkBatch) * 100;
        for (var n = batch; n < batch + 10; n++)
        {
            await _bus.EmitAsync(EmitAsyncName, new MatrixEvent("emit-async-batch", n)).WaitAsync(Documented.Hang);
            _confirmed.TryAdd(new MatrixEvent("emit-async-batch", n).Key, 0);
        }

        await RunFlow("flow", batch, 10, Flow.Create<int>()).WaitAsync(Documented.Hang);
        await RunSink("sink", batch, 10, Flow.Create<int>()).WaitAsync(Documented.Hang);
        for (var n = batch; n < batch + 10; n++)
        {
            _confirmed.TryAdd(new MatrixEvent("sink", n).Key, 0); // the sink completed: every element was confirmed
        }
    }

    /// <summary>An <c>EmitFlow</c> stream; the metadata comes out in input order, so the n-th out is the n-th in.</summary>
    private Task RunFlow(string via, int from, int count, Flow<int, int, NotUsed> stop)
    {
        var confirmedIndex = from;
        return Source.From(Enumerable.Range(from, count))
            .Throttle(20, TimeSpan.FromSeconds(1), 5, ThrottleMode.Shaping)
            .Via(stop)
            .Select(n => OutgoingEvent.Create(FlowName, new MatrixEvent(via, n)))
            .Via(_bus.EmitFlow<MatrixEvent>(StreamSettings))
            .RunForeach(_ => _confirmed.TryAdd(new MatrixEvent(via, confirmedIndex++).Key, 0), _mat);
    }

    /// <summary>An <c>Emit</c> sink stream; which of its events were confirmed is known only when it completes.</summary>
    private Task<Done> RunSink(string via, int from, int count, Flow<int, int, NotUsed> stop) =>
        Source.From(Enumerable.Range(from, count))
            .Throttle(20, TimeSpan.FromSeconds(1), 5, ThrottleMode.Shaping)
            .Via(stop)
            .Select(n => new MatrixEvent(via, n))
            .RunWith(_bus.Emit<MatrixEvent>(SinkName, StreamSettings), _mat);

    private async Task EmitAsyncLoopAsync()
    {
        for (var n = 1000; !_stop.IsCancellationRequested; n++)
        {
            var e = new MatrixEvent("emit-async", n);
            try
            {
                await _bus.EmitAsync(EmitAsyncName, e).WaitAsync(Documented.Hang);
                _confirmed.TryAdd(e.Key, 0);
                Interlocked.Exchange(ref _lastEmitAsyncSuccess, DateTime.UtcNow.Ticks);
                await Task.Delay(50); // pacing: about 20 events a second
            }
#pragma warning disable CA1031 // every failure is recorded and checked against the documented type
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _emitAsyncFailures.Enqueue(ex);
                await Task.Delay(200); // pacing while the broker is away
            }
        }
    }

    private void AssertEmitAsyncFailuresDocumented()
    {
        foreach (var failure in _emitAsyncFailures.GroupBy(f => f.GetType()).Select(g => g.First()))
        {
            _output.WriteLine($"EmitAsync failed: {failure.GetType().FullName}: {failure.Message}");
        }

        Assert.All(_emitAsyncFailures, f => Documented.EmitFailure(f, EmitAsyncName));
    }

    private async Task AllConfirmedReceivedAsync()
    {
        try
        {
            await TestEvents.Eventually(
                () =>
                {
                    RestartListenerIfFailed();
                    return Task.FromResult(_confirmed.Keys.Where(k => !_received.ContainsKey(k)).ToList());
                },
                missing => missing.Count == 0,
                Documented.Hang + Documented.Hang);
        }
        catch (TimeoutException)
        {
            var missing = _confirmed.Keys.Where(k => !_received.ContainsKey(k)).Order().ToList();
            Assert.Fail(
                $"{missing.Count} confirmed events never reached a listener (e.g. {string.Join(", ", missing.Take(10))}); " +
                $"the listener: {(Listener.Completion.IsFaulted ? "failed: " + Listener.Completion.Exception!.GetBaseException().Message : Listener.Completion.IsCompleted ? "completed" : "running")}");
        }
    }
}
