using System.Diagnostics;
using System.Text.Json;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Emit;

/// <summary>Gives an outgoing event its id, time, chain and source, and serializes its payload.</summary>
internal static class EnvelopeFactory
{
    public static EventEnvelope Create<T>(OutgoingEvent<T> outgoing, EventBusSettings settings)
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
        catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException)
        {
            throw new EmitException($"The payload of event {id} ({outgoing.Name}) could not be serialized: {ex.Message}", ex);
        }

        // A producer activity when someone listens (it ends at once: the span marks the emit, the confirm is the stage's).
        using var publish = EventTracing.StartPublish(outgoing.Name);
        publish?.SetTag("messaging.message.id", id);
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
