using Twyla.Streams.Events;

namespace Twyla.Streams.TestKit;

/// <summary>How a hand-built event was settled: its first settlement, as the listener would have received it.</summary>
/// <param name="Kind">Acked, rejected or dropped.</param>
/// <param name="Reason">
/// The reason given to <see cref="Event{T}.RejectAsync(string)"/> or <see cref="Event{T}.DropAsync"/> (<c>rejected</c> for a
/// reject without one); <c>null</c> for an ack.
/// </param>
public sealed record EventSettlement(SettleKind Kind, string? Reason);
