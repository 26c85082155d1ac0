using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting.Diagnostics;
using Twyla.Streams.Events;

namespace Twyla.Streams.Hosting.Listeners;

/// <summary>
/// Runs one listener's graph for the life of the host: materializes it, restarts it with exponential backoff when it
/// fails (or completes while the host is not stopping), and drains it when the host stops.
/// </summary>
/// <remarks>
/// A failed incarnation is shut down at once (not drained): its unsettled events go back to the queue and reach the
/// next incarnation, so no event is lost. A drain stops consuming, lets the events already handed to the handler
/// finish and be acked within the drain timeout, then closes the consumer; events not yet handed over stay queued.
/// </remarks>
internal sealed class HostedListener
{
    private static readonly TimeSpan CloseGrace = TimeSpan.FromSeconds(15);

    private readonly Func<(IListenControl Control, Task Done)> _materialize;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private IListenControl? _control;
    private Task _loop = Task.CompletedTask;
    private bool _stopping;
    private volatile ListenerState _state = ListenerState.Starting;
    private int _restarts;
    private Exception? _lastFailure;

    public HostedListener(
        string pattern, string group, Type payloadType, ListenerSettings settings, Func<(IListenControl, Task)> materialize, ILogger logger)
    {
        Pattern = pattern;
        Group = group;
        PayloadType = payloadType;
        Settings = settings;
        _materialize = materialize;
        _logger = logger;
    }

    public string Pattern { get; }

    public string Group { get; }

    /// <summary>The payload contract the listener reads (for the service's AsyncAPI document).</summary>
    public Type PayloadType { get; }

    public string Name => $"{Pattern}/{Group}";

    public ListenerSettings Settings { get; }

    public ListenerState State => _state;

    /// <summary>Moves to <paramref name="state"/> and counts the change (a state entered again is not a change).</summary>
    private void SetState(ListenerState state)
    {
        if (_state != state)
        {
            _state = state;
            ListenerStateTelemetry.Changed(Pattern, Group, state);
        }
    }

    /// <summary>How many times the graph was restarted after a failure.</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    public Exception? LastFailure => Volatile.Read(ref _lastFailure);

    public void Start()
    {
        lock (_gate)
        {
            if (_stopping)
            {
                SetState(ListenerState.Stopped);
                return;
            }

            ListenerStateTelemetry.Changed(Pattern, Group, ListenerState.Starting); // its first state, entered now
            _loop = RunAsync();
        }
    }

    /// <summary>
    /// Stops consuming and waits until the events in flight were settled (or the drain timeout passed) and the
    /// consumer closed. <paramref name="abort"/> turns the drain into an immediate shutdown.
    /// </summary>
    public async Task DrainAsync(CancellationToken abort)
    {
        IListenControl? control;
        lock (_gate)
        {
            if (_stopping)
            {
                control = null;
            }
            else
            {
                _stopping = true;
                control = _control;
                if (control is null && _state != ListenerState.Stopped)
                {
                    SetState(ListenerState.Draining); // nothing runs that could take another event
                }
            }
        }

        using var registration = abort.Register(ShutdownNow);
        var bound = Task.Delay(Settings.DrainTimeout + CloseGrace, CancellationToken.None);
        await _stop.CancelAsync().ConfigureAwait(false); // ends a backoff wait
        if (control is not null)
        {
            // Draining means no further event is handed to the handler: say so once the stage took the command
            // (within the same bound: a stage that never answers must not hold the host's shutdown).
            await Task.WhenAny(RequestDrainAsync(control), bound).ConfigureAwait(false);
            lock (_gate)
            {
                if (_state is ListenerState.Running or ListenerState.Starting or ListenerState.Restarting)
                {
                    SetState(ListenerState.Draining);
                }
            }
        }

        if (await Task.WhenAny(_loop, bound).ConfigureAwait(false) == bound)
        {
            _logger.DrainTimedOut(Pattern, Group);
            ShutdownNow();
        }
        else
        {
            SetState(ListenerState.Stopped); // also when it never started
        }
    }

    /// <summary>Says <see cref="ListenerState.Running"/> once <paramref name="control"/> consumes, if it is still the current run.</summary>
    private async Task MarkRunningWhenReadyAsync(IListenControl control)
    {
        try
        {
            await control.Ready.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a run that could not start fails: the loop records that failure and restarts
        catch (Exception)
#pragma warning restore CA1031
        {
            return;
        }

        lock (_gate)
        {
            if (!_stopping && ReferenceEquals(_control, control))
            {
                SetState(ListenerState.Running);
            }
        }
    }

    /// <summary>Completes when the stage took the drain.</summary>
    private static Task RequestDrainAsync(IListenControl control) => control.BeginDrainAsync();

    private void ShutdownNow()
    {
        IListenControl? control;
        lock (_gate)
        {
            control = _control;
        }

        _ = control?.ShutdownAsync();
    }

    private async Task RunAsync()
    {
        await Task.Yield();
        var failuresInARow = 0;
        while (true)
        {
            IListenControl? control = null;
            Exception? failure = null;
            var started = DateTimeOffset.UtcNow;
            try
            {
                var (c, done) = _materialize();
                control = c;
                bool stopping;
                lock (_gate)
                {
                    _control = control;
                    stopping = _stopping;
                }

                // Running once the consumer is registered with the broker, not when the graph is built: until then
                // it may still fail to connect, and a health check must not call it running.
                _ = stopping ? RequestDrainAsync(control) : MarkRunningWhenReadyAsync(control);

                failure = await RunOnceAsync(control, done).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // any failure of the graph leads to a restart
            catch (Exception ex)
#pragma warning restore CA1031
            {
                failure = ex;
            }

            bool drained;
            lock (_gate)
            {
                drained = _stopping;
                if (!drained)
                {
                    // Count and record the failure before the state says so, so a health check never shows
                    // "restarting" with the previous count or failure.
                    _control = null;
                    Interlocked.Increment(ref _restarts);
                    ListenerStateTelemetry.Restarted(Pattern, Group);
                    Volatile.Write(ref _lastFailure, failure);
                    SetState(ListenerState.Restarting);
                }
            }

            if (drained)
            {
                if (failure is not null)
                {
                    _logger.FailedWhileDraining(failure, Pattern, Group, failure.Message);
                }

                if (control is not null)
                {
                    // Still reachable by ShutdownNow (the drain bound, the host's shutdown timeout) while the consumer closes.
                    await Task.WhenAny(control.Completion, Task.Delay(Settings.DrainTimeout + CloseGrace)).ConfigureAwait(false);
                }

                lock (_gate)
                {
                    _control = null;
                }

                break;
            }

            if (control is not null)
            {
                await CloseAsync(control).ConfigureAwait(false);
            }

            if (DateTimeOffset.UtcNow - started >= Settings.MaxBackoff)
            {
                failuresInARow = 0;
            }

            // The first failure of an outage with its stack trace (a run that consumed ends an outage); the restarts
            // of one outage after it, a line each.
            var newOutage = failuresInARow == 0 || control?.Ready.IsCompletedSuccessfully == true;
            var delay = Twyla.Streams.Backoff.Delay(Settings.MinBackoff, Settings.MaxBackoff, failuresInARow++);
            _logger.ListenerFailed(newOutage ? failure : null, Pattern, Group, failure?.Message, Restarts, delay);
            try
            {
                await Task.Delay(delay, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }

        SetState(ListenerState.Stopped);
        _logger.ListenerStopped(Pattern, Group);
    }

    /// <summary>Waits for the incarnation to end; returns why it must restart, or null when it ended by a drain.</summary>
    private async Task<Exception?> RunOnceAsync(IListenControl control, Task done)
    {
        var first = await Task.WhenAny(done, control.Completion).ConfigureAwait(false);
        if (first == control.Completion)
        {
            // The consumer closed: by a drain (handlers that outlived the drain timeout are abandoned; their events
            // went back to the queue) or by a failure of the listener itself.
            return control.Completion.Exception?.GetBaseException()
                   ?? (IsStopping() ? null : new InvalidOperationException("The listener's consumer closed although the host is not stopping."));
        }

        if (done.Exception is { } error)
        {
            return error.GetBaseException();
        }

        if (done.IsCanceled)
        {
            return new OperationCanceledException("The listener's graph was cancelled.");
        }

        // The handler's stream completed: expected in a drain, where the consumer closes once every ack was sent
        // (RunAsync waits for that).
        if (IsStopping())
        {
            return null;
        }

        return new InvalidOperationException("The listener's handler flow completed although the host is not stopping.");
    }

    private bool IsStopping()
    {
        lock (_gate)
        {
            return _stopping;
        }
    }

    private static async Task CloseAsync(IListenControl control)
    {
        try
        {
            await control.ShutdownAsync().WaitAsync(CloseGrace).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the incarnation failed already; closing is best effort
        catch (Exception)
#pragma warning restore CA1031
        {
        }
    }
}
