using Twyla.Streams.Events;

namespace Twyla.Streams.Transport.InMemory;

/// <summary>What a queue of the in-memory broker did with one of its messages.</summary>
internal enum InMemoryActivityKind
{
    /// <summary>Handed to a consumer.</summary>
    Delivered = 0,

    /// <summary>Acked by its consumer: the broker forgot it.</summary>
    Acked = 1,

    /// <summary>Rejected by its consumer: it goes back to its queue after its retry delay.</summary>
    Rejected = 2,

    /// <summary>Moved to the queue's dead-letter queue.</summary>
    DeadLettered = 3,
}

/// <summary>One step of a message through an in-memory queue, as observers of the broker see it.</summary>
/// <param name="Queue">The queue, <c>{pattern}.{group}</c>.</param>
/// <param name="Kind">What happened.</param>
/// <param name="Metadata">The event's metadata.</param>
/// <param name="DeliveryCount">How many times the message was delivered so far.</param>
/// <param name="Redelivered">Whether it had been delivered before this delivery.</param>
/// <param name="Reason">The reject or dead-letter reason; <c>null</c> otherwise.</param>
internal readonly record struct InMemoryActivity(
    string Queue, InMemoryActivityKind Kind, EventMetadata Metadata, int DeliveryCount, bool Redelivered, string? Reason);
