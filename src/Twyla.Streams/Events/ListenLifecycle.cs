namespace Twyla.Streams.Events;

/// <summary>Where a listener is; it only ever moves forward.</summary>
internal enum ListenPhase
{
    /// <summary>The consumer session is being opened.</summary>
    Starting,

    /// <summary>Consuming: deliveries are emitted on demand, acks take the fast path.</summary>
    Running,

    /// <summary>No longer consuming; waiting (bounded) for the events emitted downstream to be settled.</summary>
    Draining,

    /// <summary>The last transport calls go out, then the session is closed.</summary>
    Closing,

    /// <summary>The session is being closed: no more transport calls, its shutdown is expected.</summary>
    ClosingSession,

    /// <summary>The session is closed; the stage completes.</summary>
    Closed,
}

/// <summary>What the stage does once a drain was asked for.</summary>
internal enum DrainStep
{
    /// <summary>Nothing: the listener is draining or closing already.</summary>
    None,

    /// <summary>Stop consuming and wait for the emitted events to be settled.</summary>
    Drain,

    /// <summary>The listener had not started: give up the start (a close).</summary>
    Close,
}

/// <summary>What the stage does once a close was asked for.</summary>
internal enum CloseStep
{
    /// <summary>Nothing: the listener is closing already.</summary>
    None,

    /// <summary>The session is not there yet: cancel its start; one that still arrives is closed.</summary>
    GiveUpStart,

    /// <summary>Flush the last acks, let the queued calls finish, then close the session.</summary>
    CloseSession,
}

/// <summary>What the stage does with a failure (of the start, the session or a transport call).</summary>
internal enum FailStep
{
    /// <summary>The stage is closing the session itself: its shutdown is expected.</summary>
    Ignore,

    /// <summary>A stop came while starting and the start then failed or was given up: a normal stop.</summary>
    Complete,

    /// <summary>The listener fails.</summary>
    Fail,
}

/// <summary>
/// The listen stage's lifecycle: one phase that only moves forward, from <see cref="ListenPhase.Starting"/> to
/// <see cref="ListenPhase.Closed"/>, and what each request (start, drain, close, failure) means in each phase. Plain
/// state, no Akka: the stage calls it on its own turn and does what the answer says.
/// </summary>
internal sealed class ListenLifecycle
{
    /// <summary>Where the listener is.</summary>
    public ListenPhase Phase { get; private set; }

    /// <summary>Whether it consumes and emits (acks take the fast path).</summary>
    public bool IsRunning => Phase == ListenPhase.Running;

    /// <summary>Whether deliveries and settlements are still taken (the close has not started).</summary>
    public bool IsOpen => Phase < ListenPhase.Closing;

    /// <summary>Whether transport calls may start (the session is not being closed).</summary>
    public bool MayCallSession => Phase < ListenPhase.ClosingSession;

    /// <summary>Whether the session is closed once the calls asked for before are done.</summary>
    public bool ClosesWhenIdle => Phase == ListenPhase.Closing;

    /// <summary>Whether the listener stopped as asked (not by a failure).</summary>
    public bool IsClosed => Phase == ListenPhase.Closed;

    /// <summary>The session arrived. True: the listener runs; false: a stop came first and the session is to be closed.</summary>
    public bool Started()
    {
        if (Phase != ListenPhase.Starting)
        {
            return false;
        }

        Phase = ListenPhase.Running;
        return true;
    }

    /// <summary>A drain was asked for (or downstream is gone).</summary>
    public DrainStep Drain()
    {
        switch (Phase)
        {
            case ListenPhase.Running:
                Phase = ListenPhase.Draining;
                return DrainStep.Drain;
            case ListenPhase.Starting:
                return DrainStep.Close;
            default:
                return DrainStep.None;
        }
    }

    /// <summary>Whether a draining listener has nothing left to wait for.</summary>
    public bool IsDrained(int emittedUnsettled) => Phase == ListenPhase.Draining && emittedUnsettled == 0;

    /// <summary>A close was asked for (a shutdown, the end of a drain, or its timeout).</summary>
    public CloseStep Close()
    {
        if (Phase >= ListenPhase.Closing)
        {
            return CloseStep.None;
        }

        var starting = Phase == ListenPhase.Starting;
        Phase = ListenPhase.Closing;
        return starting ? CloseStep.GiveUpStart : CloseStep.CloseSession;
    }

    /// <summary>The session's close starts: no more transport calls.</summary>
    public void SessionClosing() => Phase = ListenPhase.ClosingSession;

    /// <summary>The session is closed.</summary>
    public void SessionClosed() => Phase = ListenPhase.Closed;

    /// <summary>Something failed; <paramref name="hasSession"/> says whether a session was opened.</summary>
    public FailStep Failed(bool hasSession)
    {
        if (Phase >= ListenPhase.ClosingSession)
        {
            return FailStep.Ignore;
        }

        if (Phase == ListenPhase.Closing && !hasSession)
        {
            Phase = ListenPhase.Closed;
            return FailStep.Complete;
        }

        return FailStep.Fail;
    }
}
