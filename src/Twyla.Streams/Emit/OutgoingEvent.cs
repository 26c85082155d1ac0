using System.Text.Json;
using System.Text.Json.Nodes;
using Twyla.Streams.Contracts;
using Twyla.Streams.Events;

namespace Twyla.Streams.Emit;

/// <summary>Makes <see cref="OutgoingEvent{T}"/>s.</summary>
public static class OutgoingEvent
{
    /// <summary>
    /// A chain start: an event with no cause, whose correlation id will be its own id, and the data version declared on
    /// <typeparamref name="T"/> (<see cref="ContractVersionAttribute"/>; 1 when none is).
    /// </summary>
    /// <typeparam name="T">The payload contract (a record, or <see cref="JsonElement"/>/<see cref="JsonObject"/> for untyped producers).</typeparam>
    /// <param name="name">The event name, <c>domain.event-type</c>.</param>
    /// <param name="payload">The payload; not null.</param>
    /// <returns>The outgoing event.</returns>
    public static OutgoingEvent<T> Create<T>(string name, T payload) => CreateVersioned(name, payload, ContractVersions.Of(typeof(T)));

    /// <summary>A chain start with the data version <paramref name="version"/>.</summary>
    internal static OutgoingEvent<T> CreateVersioned<T>(string name, T payload, int version)
    {
        EventName.Validate(name, nameof(name));
        ValidatePayload(payload, name);
        return new OutgoingEvent<T>(name, payload, correlationId: null, causationId: string.Empty, version);
    }

    internal static void ValidatePayload<T>(T payload, string name)
    {
        switch (payload)
        {
            case null:
                throw new ArgumentNullException(nameof(payload), $"The payload of event '{name}' is null: every event needs a payload.");
            case JsonElement { ValueKind: JsonValueKind.Undefined }:
                throw new ArgumentException($"The payload of event '{name}' is an undefined JsonElement (default value).", nameof(payload));
        }
    }
}

/// <summary>
/// An event on its way out: name, payload, version and the chain it belongs to. Id and time are given at emit.
/// Make one with <see cref="OutgoingEvent.Create{T}"/> (a chain start) or <see cref="Event{T}.Derive{TOut}"/>
/// (caused by a received event).
/// </summary>
/// <typeparam name="T">The payload contract.</typeparam>
public sealed class OutgoingEvent<T>
{
    internal OutgoingEvent(string name, T payload, string? correlationId, string causationId, int version)
    {
        Name = name;
        Payload = payload;
        CorrelationId = correlationId;
        CausationId = causationId;
        Version = version;
    }

    /// <summary>The event name.</summary>
    public string Name { get; }

    /// <summary>The payload.</summary>
    public T Payload { get; }

    /// <summary>The chain's correlation id, or <c>null</c> for a chain start (the event's own id is used).</summary>
    public string? CorrelationId { get; }

    /// <summary>The id of the event that caused this one; empty for a chain start.</summary>
    public string CausationId { get; }

    /// <summary>The contract's data version: the <see cref="ContractVersionAttribute"/> of the payload type (1 without one) unless set.</summary>
    public int Version { get; }

    /// <summary>A copy that belongs to the chain of <paramref name="cause"/>: same correlation id, causation id = its id.</summary>
    /// <param name="cause">The metadata of the event that caused this one.</param>
    /// <returns>The new outgoing event.</returns>
    public OutgoingEvent<T> CausedBy(EventMetadata cause)
    {
        ArgumentNullException.ThrowIfNull(cause);
        return new OutgoingEvent<T>(Name, Payload, cause.CorrelationId, cause.Id, Version);
    }

    /// <summary>A copy with another contract version.</summary>
    /// <param name="version">The contract version, at least 1.</param>
    /// <returns>The new outgoing event.</returns>
    public OutgoingEvent<T> WithVersion(int version)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(version, 1);
        return new OutgoingEvent<T>(Name, Payload, CorrelationId, CausationId, version);
    }
}
