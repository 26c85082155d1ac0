using Microsoft.Extensions.Logging.Abstractions;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting.Listeners;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Listeners;

/// <summary>
/// A hosted listener is "running" (and the health check healthy) only once its consumer is registered with the broker,
/// not as soon as its graph is built: until then it may still fail to connect (TLS refused, broker down).
/// </summary>
public sealed class HostedListenerStateTests
{
    [Fact]
    public async Task A_listener_should_be_running_only_once_its_consumer_is_ready()
    {
        var run = new ControlledRun();
        var listener = NewListener(() => run);

        listener.Start();
        await run.Watched.Task.WaitAsync(TimeSpan.FromSeconds(30)); // the host watches the run it built
        Assert.Equal(ListenerState.Starting, listener.State); // built, not consuming yet

        run.Ready.SetResult();
        await WaitForAsync(() => listener.State == ListenerState.Running);

        await StopAsync(listener, run);
    }

    [Fact]
    public async Task A_listener_that_fails_before_its_consumer_is_ready_should_never_say_running()
    {
        var first = new ControlledRun();
        var second = new ControlledRun();
        var runs = new Queue<ControlledRun>([first, second]);
        var listener = NewListener(() => runs.Dequeue());

        listener.Start();
        await first.Watched.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ListenerState.Starting, listener.State);
        var refused = new InvalidOperationException("TLS handshake refused");
        first.Ready.SetException(refused);
        first.Completion.SetException(refused);
        await WaitForAsync(() => listener.Restarts == 1);

        Assert.Same(refused, listener.LastFailure);
        await second.Watched.Task.WaitAsync(TimeSpan.FromSeconds(30)); // built again after the backoff, not ready yet
        Assert.Equal(ListenerState.Restarting, listener.State);

        await StopAsync(listener, second);
        Assert.Equal(ListenerState.Stopped, listener.State);
    }

    [Fact]
    public async Task A_listener_stopped_before_its_consumer_is_ready_should_drain_not_wait_for_ready()
    {
        var run = new ControlledRun();
        var listener = NewListener(() => run);
        listener.Start();
        await run.Watched.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var drain = listener.DrainAsync(CancellationToken.None);
        await run.DrainRequested.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await WaitForAsync(() => listener.State == ListenerState.Draining); // said once the run took the drain
        run.Completion.SetResult();
        await drain.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ListenerState.Stopped, listener.State);
    }

    [Fact]
    public async Task The_restarts_of_one_outage_should_log_the_stack_trace_once_and_a_line_each_after_it()
    {
        var runs = new Queue<ControlledRun>([new ControlledRun(), new ControlledRun(), new ControlledRun(), new ControlledRun(), new ControlledRun()]);
        var all = runs.ToArray();
        var log = new FailureLog();
        var listener = NewListener(() => runs.Dequeue(), log);

        listener.Start();
        for (var i = 0; i < 3; i++)
        {
            await all[i].Watched.Task.WaitAsync(TimeSpan.FromSeconds(30));
            all[i].Completion.SetException(new InvalidOperationException($"Connection refused {i}"));
            var restarts = i + 1;
            await WaitForAsync(() => listener.Restarts == restarts && log.Failures.Count == restarts);
        }

        Assert.Equal([true, false, false], log.Failures.Select(f => f.Exception is not null)); // none of them consumed

        // A run that consumed ends the outage: its failure is a new one, with its stack trace.
        all[3].Ready.SetResult();
        await WaitForAsync(() => listener.State == ListenerState.Running);
        all[3].Completion.SetException(new InvalidOperationException("handler flow crashed"));
        await WaitForAsync(() => log.Failures.Count == 4);
        Assert.NotNull(log.Failures[3].Exception);
        Assert.All(log.Failures.Take(3).Select((f, i) => (f.Message, i)), f => Assert.Contains($"failed: Connection refused {f.i}", f.Message, StringComparison.Ordinal));
        await all[4].Watched.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await StopAsync(listener, all[4]);
    }

    private static HostedListener NewListener(Func<ControlledRun> next) => NewListener(next, NullLogger.Instance);

    private static HostedListener NewListener(Func<ControlledRun> next, Microsoft.Extensions.Logging.ILogger logger)
    {
        var settings = new ListenerSettings(
            ListenSettings.Default.WithDrainTimeout(TimeSpan.FromSeconds(5)),
            AckOnCompletionSettings.Default,
            TimeSpan.FromMilliseconds(10),
            TimeSpan.FromSeconds(10)); // a run shorter than the max backoff is a failure of the same outage: 10, 20, 40 ms apart
        return new HostedListener("booking.*", "state", typeof(string), settings, () =>
        {
            var run = next();
            return (run, run.Completion.Task);
        }, logger);
    }

    private static async Task StopAsync(HostedListener listener, ControlledRun run)
    {
        var drain = listener.DrainAsync(CancellationToken.None);
        await run.DrainRequested.Task.WaitAsync(TimeSpan.FromSeconds(30));
        run.Completion.TrySetResult();
        await drain.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the listener never reached the expected state");
            await Task.Delay(10);
        }
    }

    /// <summary>The listener's failure lines (event 2016) with their exceptions.</summary>
    private sealed class FailureLog : Microsoft.Extensions.Logging.ILogger
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<(string Message, Exception? Exception)> _failures = new();

        public IReadOnlyList<(string Message, Exception? Exception)> Failures => [.. _failures];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(
            Microsoft.Extensions.Logging.LogLevel logLevel,
            Microsoft.Extensions.Logging.EventId eventId,
            TState state,
            Exception? exception,
            Func<TState, Exception?, string> formatter)
        {
            if (eventId.Id == 2016)
            {
                _failures.Enqueue((formatter(state, exception), exception));
            }
        }
    }

    /// <summary>One run of a listener's graph whose readiness and end the test decides.</summary>
    private sealed class ControlledRun : IListenControl
    {
        /// <summary>Set when the host first watches the run (reads its completion), right after building it.</summary>
        public TaskCompletionSource Watched { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Ready { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Completion { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource DrainRequested { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        Task IListenControl.Completion
        {
            get
            {
                Watched.TrySetResult();
                return Completion.Task;
            }
        }

        Task IListenControl.Ready => Ready.Task;

        public Task ShutdownAsync()
        {
            Completion.TrySetResult();
            return Completion.Task;
        }

        public Task DrainAsync()
        {
            DrainRequested.TrySetResult();
            return Completion.Task;
        }

        public Task BeginDrainAsync()
        {
            DrainRequested.TrySetResult();
            return Task.CompletedTask;
        }
    }
}
