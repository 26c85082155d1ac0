using Twyla.Streams.Events;

namespace Twyla.Streams.Transport;

/// <summary>An event as transports move it: metadata, the payload as UTF-8 JSON, and W3C trace context.</summary>
internal sealed record EventEnvelope(EventMetadata Metadata, ReadOnlyMemory<byte> Data, string? TraceParent, string? TraceState);
