using Twyla.Streams.Transport;

namespace Twyla.Streams.Events;

/// <summary>What the listen stage asks its consumer session to do.</summary>
internal enum ListenCallKind
{
    Ack,
    Reject,
    Drop,
    StopConsuming,
    Close,
}

/// <summary>One call to the consumer session: a batched ack up to <paramref name="AckTag"/>, a reject or drop of <paramref name="Entry"/>, the stop or the close.</summary>
internal sealed record ListenCall(ListenCallKind Kind, LedgerEntry? Entry = null, ulong AckTag = 0, string? Reason = null, TimeSpan Delay = default);

/// <summary>
/// The listen stage's calls to its consumer session, one at a time in the order asked for (a session takes one call
/// at a time), and the close once everything asked for before it went out, as far as the <see cref="ListenLifecycle"/>
/// allows. A call that completes at once is reported through <c>onDoneNow</c> (the stage is running this turn), one
/// that completes later through <c>onDoneLater</c> (the stage's async callback).
/// </summary>
internal sealed class ListenCalls(
    string queue,
    ListenLifecycle lifecycle,
    Action<(ListenCall Call, Exception? Error)> onDoneNow,
    Action<(ListenCall Call, Exception? Error)> onDoneLater,
    CancellationToken cancellationToken)
{
    private static readonly TimeSpan CloseBound = TimeSpan.FromSeconds(10);

    private readonly TransportCallQueue<ListenCall> _queue = new();

    /// <summary>The session; calls wait until it is there.</summary>
    public IConsumerSession? Session { get; set; }

    /// <summary>Calls not started yet.</summary>
    public IEnumerable<ListenCall> Waiting => _queue.Waiting;

    /// <summary>Queues <paramref name="call"/> and starts it if nothing runs.</summary>
    public void Enqueue(ListenCall call)
    {
        _queue.Enqueue(call);
        RunNext();
    }

    /// <summary>
    /// The running call finished (reported through <c>onDoneNow</c> or <c>onDoneLater</c>): the caller waiting for
    /// its reject or drop is told how it went.
    /// </summary>
    public void Completed(ListenCall call, Exception? error)
    {
        _queue.Completed();
        if (error is null)
        {
            call.Entry?.Waiter?.TrySetResult();
        }
        else
        {
            call.Entry?.Waiter?.TrySetException(new EventSettlementException($"{call.Kind} on queue '{queue}' failed: {error.Message}", error));
        }

        if (call.Kind == ListenCallKind.Close)
        {
            Session = null;
        }
    }

    /// <summary>
    /// Starts the next call, unless one runs, the session is not there or is being closed; with nothing left while the
    /// listener is closing, starts the close.
    /// </summary>
    public void RunNext()
    {
        if (Session is not { } session || _queue.Running || !lifecycle.MayCallSession)
        {
            return;
        }

        if (!_queue.TryStartNext(out var call))
        {
            if (!lifecycle.ClosesWhenIdle)
            {
                return;
            }

            _queue.StartUnqueued();
            call = new ListenCall(ListenCallKind.Close);
            lifecycle.SessionClosing();
        }

        Task task;
        try
        {
            task = Start(call, session);
        }
        catch (Exception ex)
        {
            task = Task.FromException(ex);
        }

        if (task.IsCompleted)
        {
            onDoneNow((call, task.Exception?.GetBaseException()));
            return;
        }

        task.ContinueWith(
            t => onDoneLater((call, t.Exception?.GetBaseException() ?? (t.IsCanceled ? new OperationCanceledException() : null))),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>
    /// The stage stopped: every caller still waiting for a reject or drop (held in <paramref name="unsettled"/> or
    /// queued) fails with <paramref name="stopped"/>, and a session the stage did not close is closed off the stage
    /// thread (the broker requeues what is unsettled). Completes once that close is done, at once without a session.
    /// </summary>
    public Task AbandonAsync(IEnumerable<LedgerEntry> unsettled, Exception stopped)
    {
        foreach (var waiter in unsettled.Select(e => e.Waiter).Concat(Waiting.Select(c => c.Entry?.Waiter)))
        {
            waiter?.TrySetException(stopped);
        }

        var session = Session;
        Session = null;
        return session is null ? Task.CompletedTask : CloseAsync(session);
    }

    /// <summary>Closes a session (the broker requeues what it did not settle), giving up waiting after a bound.</summary>
    private static async Task CloseAsync(IConsumerSession session)
    {
        var dispose = session.DisposeAsync().AsTask();
        await Task.WhenAny(dispose, Task.Delay(CloseBound)).ConfigureAwait(false);
    }

    private Task Start(ListenCall call, IConsumerSession session) => call.Kind switch
    {
        ListenCallKind.Ack => session.AckAsync(call.AckTag, multiple: true, cancellationToken),
        ListenCallKind.Reject => call.Entry!.Delivery.Handle.RejectAsync(call.Delay, call.Reason ?? "rejected", cancellationToken),
        ListenCallKind.Drop => call.Entry!.Delivery.Handle.DropAsync(call.Reason!, cancellationToken),
        ListenCallKind.StopConsuming => session.StopConsumingAsync(cancellationToken),
        _ => CloseAsync(session),
    };
}
