using Twyla.Streams.Events;

namespace Twyla.Streams.TestKit;

/// <summary>What the broker did with an event of a listener group's queue.</summary>
public enum ListenerActivityKind
{
    /// <summary>Handed to one of the group's listeners.</summary>
    Delivered = 0,

    /// <summary>Acked by the listener: consumed, the broker forgot it.</summary>
    Consumed = 1,

    /// <summary>Rejected by the listener: it goes back to the queue after its retry delay and is delivered again.</summary>
    Rejected = 2,

    /// <summary>Dropped to the group's dead-letter queue.</summary>
    DeadLettered = 3,
}

/// <summary>One step of an event through a listener group's queue on the in-memory bus.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="Metadata">The event's metadata.</param>
/// <param name="DeliveryCount">How many times the event was delivered so far.</param>
/// <param name="Redelivered">Whether it had been delivered before its latest delivery.</param>
/// <param name="Reason">Why it was rejected or dead-lettered; <c>null</c> otherwise.</param>
public sealed record ListenerActivity(ListenerActivityKind Kind, EventMetadata Metadata, int DeliveryCount, bool Redelivered, string? Reason)
{
    /// <inheritdoc />
    public override string ToString() =>
        $"{Kind} {Metadata.Id} ({Metadata.Name}, delivery {DeliveryCount}{(Redelivered ? ", redelivered" : string.Empty)}){(Reason is null ? string.Empty : ": " + Reason)}";
}
