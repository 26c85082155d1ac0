namespace Twyla.Streams.Contracts;

/// <summary>A data version a service emits an event with, as discovery knows it (the service's bus noted it at its first emit).</summary>
public sealed class ProducerVersion
{
    internal ProducerVersion(string service, string eventName, int version, DateTimeOffset announcedAt)
    {
        Service = service;
        EventName = eventName;
        Version = version;
        AnnouncedAt = announcedAt;
    }

    /// <summary>The emitting service.</summary>
    public string Service { get; }

    /// <summary>The event name.</summary>
    public string EventName { get; }

    /// <summary>The data version it emits the event with.</summary>
    public int Version { get; }

    /// <summary>When its bus first emitted the event with this version.</summary>
    public DateTimeOffset AnnouncedAt { get; }

    /// <inheritdoc />
    public override string ToString() => $"{Service} emits {EventName} v{Version}";
}
