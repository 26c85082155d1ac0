namespace Twyla.Streams.Events;

/// <summary>A settlement that goes through the listen stage; <see cref="Done"/> completes when it is done for the caller.</summary>
internal sealed record SettleRequest(ulong Tag, SettleKind Kind, string? Reason, TaskCompletionSource Done);

/// <summary>
/// The settler the listen stage's events hold. While the listener runs an ack takes a fast path: the tag goes into
/// the <see cref="AckInbox"/>, the caller's task is complete at once, and the stage is woken (<paramref name="wake"/>)
/// once per burst to drain the inbox. Rejects, drops and every settlement once the inbox is closed go through the
/// stage (<paramref name="throughStage"/>, which fails fast when the stage is gone) and complete when the stage
/// answers the request. Plain code, no Akka.
/// </summary>
/// <remarks>
/// A round trip through the stage per ack (<c>InvokeWithFeedback</c>, whose task continues on the thread pool) cost
/// two or three thread-pool hops per event and capped throughput on small machines. An ack that races with the start
/// of a close may be recorded after the last batch went out: the broker then delivers the event again
/// (at-least-once).
/// </remarks>
internal sealed class ListenSettler(AckInbox inbox, Action wake, Func<SettleRequest, Task> throughStage) : IEventSettler
{
    public Task SettleAsync(ulong tag, SettleKind kind, string? reason)
    {
        if (kind != SettleKind.Ack || !inbox.IsOpen)
        {
            return SettleThroughStageAsync(tag, kind, reason);
        }

        if (inbox.Record(tag))
        {
            wake();
        }

        return Task.CompletedTask;
    }

    private async Task SettleThroughStageAsync(ulong tag, SettleKind kind, string? reason)
    {
        var request = new SettleRequest(tag, kind, reason, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        await throughStage(request).ConfigureAwait(false);
        await request.Done.Task.ConfigureAwait(false);
    }
}
