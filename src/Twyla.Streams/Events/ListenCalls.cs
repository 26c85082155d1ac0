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
/// at a time), and the close once everything asked for before it went out. A call that completes at once is reported
/// through <c>onDoneNow</c> (the stage is running this turn), one that completes later through <c>onDoneLater</c>
/// (the stage's async callback).
/// </summary>
internal sealed class ListenCalls(
    Action<(ListenCall Call, Exception? Error)> onDoneNow,
    Action<(ListenCall Call, Exception? Error)> onDoneLater,
    Action closeStarting,
    CancellationToken cancellationToken)
{
    private static readonly TimeSpan CloseBound = TimeSpan.FromSeconds(10);

    private readonly TransportCallQueue<ListenCall> _queue = new();

    /// <summary>The session; calls wait until it is there.</summary>
    public IConsumerSession? Session { get; set; }

    /// <summary>Calls not started yet.</summary>
    public IEnumerable<ListenCall> Waiting => _queue.Waiting;

    public void Enqueue(ListenCall call) => _queue.Enqueue(call);

    /// <summary>The running call finished (its result was handled).</summary>
    public void Completed() => _queue.Completed();

    /// <summary>Starts the next call, unless one runs; with nothing left and <paramref name="closeWhenIdle"/>, starts the close.</summary>
    public void RunNext(bool closeWhenIdle)
    {
        if (Session is not { } session || _queue.Running)
        {
            return;
        }

        if (!_queue.TryStartNext(out var call))
        {
            if (!closeWhenIdle)
            {
                return;
            }

            _queue.StartUnqueued();
            call = new ListenCall(ListenCallKind.Close);
            closeStarting();
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

    /// <summary>Closes a session (the broker requeues what it did not settle), giving up waiting after a bound.</summary>
    public static async Task CloseAsync(IConsumerSession session)
    {
        var dispose = session.DisposeAsync().AsTask();
        await Task.WhenAny(dispose, Task.Delay(CloseBound)).ConfigureAwait(false);
    }

    private Task Start(ListenCall call, IConsumerSession session) => call.Kind switch
    {
        ListenCallKind.Ack => session.AckAsync(call.AckTag, multiple: true, cancellationToken),
        ListenCallKind.Reject => session.RejectAsync(call.Entry!.Delivery, call.Delay, call.Reason ?? "rejected", cancellationToken),
        ListenCallKind.Drop => session.DropAsync(call.Entry!.Delivery, call.Reason!, cancellationToken),
        ListenCallKind.StopConsuming => session.StopConsumingAsync(cancellationToken),
        _ => CloseAsync(session),
    };
}
