namespace Twyla.Streams.Events;

/// <summary>The listen stage's side of <see cref="Event{T}"/> settlement.</summary>
internal interface IEventSettler
{
    /// <summary>
    /// Completes when the transport did the work (for acks: when the batched ack covering the tag was sent);
    /// fails with <see cref="EventSettlementException"/> when the listener has stopped.
    /// </summary>
    Task SettleAsync(ulong tag, SettleKind kind, string? reason);
}
