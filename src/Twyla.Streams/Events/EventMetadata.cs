namespace Twyla.Streams.Events;

/// <summary>
/// What travels with every event besides its payload (CloudEvents attributes on the wire).
/// </summary>
/// <param name="Id">Unique per event, generated at emit (UUID v7, so ids sort by time).</param>
/// <param name="Name">The event name, <c>domain.event-type</c> (CloudEvents <c>type</c>).</param>
/// <param name="CorrelationId">The id of the first event of the chain; a chain start carries its own id.</param>
/// <param name="CausationId">The id of the event that caused this one; empty at a chain start.</param>
/// <param name="Time">UTC time of the emit.</param>
/// <param name="Source">The emitting service's name.</param>
/// <param name="Version">The contract version, 1 unless the producer says otherwise.</param>
public sealed record EventMetadata(
    string Id,
    string Name,
    string CorrelationId,
    string CausationId,
    DateTimeOffset Time,
    string Source,
    int Version)
{
    /// <summary>Whether this event starts a chain (it has no cause).</summary>
    public bool IsChainStart => CausationId.Length == 0;
}
