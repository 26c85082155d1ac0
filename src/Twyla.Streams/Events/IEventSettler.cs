namespace Twyla.Streams.Events;

/// <summary>The listen stage's side of <see cref="Event{T}"/> settlement.</summary>
internal interface IEventSettler
{
    /// <summary>
    /// Completes when the settlement is done for the caller: an ack once the listen stage recorded it (it reaches the
    /// broker with the next batch), a reject or drop once the transport did the work; fails with
    /// <see cref="EventSettlementException"/> when the listener has stopped.
    /// </summary>
    Task SettleAsync(ulong tag, SettleKind kind, string? reason);

    /// <summary>The metrics of the listener that handed the event out, or <c>null</c> when it keeps none.</summary>
    Diagnostics.ListenerTelemetry? Telemetry => null;
}
