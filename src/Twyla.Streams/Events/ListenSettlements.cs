namespace Twyla.Streams.Events;

/// <summary>
/// The listen stage's answer to a settlement that comes through it (see <see cref="ListenSettler"/>): refused once the
/// listener closes or for an event it does not hold, done at once for an ack or an event settled already, and for a
/// reject or drop the transport call to make (the caller waits for it). Plain state, no Akka.
/// </summary>
internal sealed class ListenSettlements(AckLedger ledger, ListenLifecycle lifecycle, RetrySchedule retry, string queue)
{
    /// <summary>
    /// Answers <paramref name="request"/>, or hands the reject or drop to make to <paramref name="call"/> (the request
    /// is answered when that call is done). Returns whether an ack moved the ack watermark.
    /// </summary>
    public bool Settle(SettleRequest request, Action<ListenCall> call)
    {
        if (!lifecycle.IsOpen || ledger.FindEmitted(request.Tag) is not { } entry)
        {
            request.Done.TrySetException(new EventSettlementException($"The listener of queue '{queue}' is closing; the event goes back to the queue."));
            return false;
        }

        if (request.Kind == SettleKind.Ack || entry.State != LedgerEntryState.Open)
        {
            // An ack that came another way than the fast path (closed for a moment), or an event settled already.
            request.Done.TrySetResult();
            return ledger.Ack(request.Tag);
        }

        entry.Waiter = request.Done;
        ledger.Pending(entry);
        call(request.Kind == SettleKind.Reject
            ? new ListenCall(ListenCallKind.Reject, entry, Reason: request.Reason, Delay: retry.DelayAfter(entry.Delivery.DeliveryCount))
            : new ListenCall(ListenCallKind.Drop, entry, Reason: request.Reason));
        return false;
    }
}
