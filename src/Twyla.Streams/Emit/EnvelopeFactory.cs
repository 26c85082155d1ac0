using System.Diagnostics;
using System.Text.Json;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Emit;

/// <summary>Gives an outgoing event its id, time, chain and source, and serializes its payload.</summary>
internal static class EnvelopeFactory
{
    /// <summary>The envelope of <paramref name="outgoing"/>, in the trace of <see cref="Activity.Current"/>, without a span of its own.</summary>
    public static EventEnvelope Create<T>(OutgoingEvent<T> outgoing, EventBusSettings settings) => Create(outgoing, settings, target: null, out _);

    /// <summary>
    /// The envelope of <paramref name="outgoing"/>, and its <c>publish</c> span (<c>null</c> when nobody listens), which
    /// the caller ends when the broker answered (<see cref="EventTracing.EndPublish"/>).
    /// </summary>
    public static EventEnvelope Create<T>(OutgoingEvent<T> outgoing, EventBusSettings settings, MessagingTarget? target, out Activity? publish)
    {
        var id = EventIds.NewId();
        var metadata = new EventMetadata(
            id,
            outgoing.Name,
            outgoing.CorrelationId ?? id,
            outgoing.CausationId,
            DateTimeOffset.UtcNow,
            settings.ServiceName,
            outgoing.Version);
        byte[] data;
        try
        {
            data = JsonSerializer.SerializeToUtf8Bytes(outgoing.Payload, settings.JsonOptions);
        }
#pragma warning disable CA1031 // whatever the serializer or a converter of the user's throws: every failure to emit is an EmitException
        catch (Exception ex) when (ex is not OutOfMemoryException)
#pragma warning restore CA1031
        {
            throw new EmitException($"The payload of event {id} ({outgoing.Name}) could not be serialized: {ex.Message}", ex);
        }

        // A producer span when someone listens: a child of the caller's, and the parent of the handlers' spans.
        publish = target is null ? null : EventTracing.StartPublish(metadata, target, data.Length);
        var activity = publish ?? Activity.Current;
        string? traceParent = null;
        string? traceState = null;
        if (activity is { IdFormat: ActivityIdFormat.W3C })
        {
            traceParent = activity.Id;
            traceState = activity.TraceStateString;
        }

        return new EventEnvelope(metadata, data, traceParent, traceState);
    }
}
