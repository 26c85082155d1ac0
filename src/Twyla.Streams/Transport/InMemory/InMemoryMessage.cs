namespace Twyla.Streams.Transport.InMemory;

/// <summary>
/// One queue's copy of a published event. Each queue gets its own instance (its delivery state is per queue);
/// the immutable <see cref="EventEnvelope"/> and its body are shared, never copied.
/// </summary>
/// <remarks>The mutable members are guarded by the broker's lock.</remarks>
internal sealed class InMemoryMessage
{
    public InMemoryMessage(EventEnvelope envelope)
    {
        Envelope = envelope;
    }

    public EventEnvelope Envelope { get; }

    /// <summary>The routing key it was published with: the event name.</summary>
    public string RoutingKey => Envelope.Metadata.Name;

    /// <summary>How many times it was delivered so far.</summary>
    public int DeliveryCount { get; set; }

    /// <summary>Whether it went back to its queue after a delivery (reject, or its session closed).</summary>
    public bool Redelivered { get; set; }

    /// <summary>Why its last delivery was rejected, or <c>null</c>.</summary>
    public string? LastFailure { get; set; }

    /// <summary>How many times it was replayed from the dead-letter queue.</summary>
    public int ReplayCount { get; set; }
}
