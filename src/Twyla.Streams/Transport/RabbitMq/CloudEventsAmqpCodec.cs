using System.Globalization;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using Twyla.Streams.Events;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// Writes and reads events as AMQP 0-9-1 messages in the CloudEvents 1.0 AMQP binding.
/// </summary>
/// <remarks>
/// <para>Written: binary mode. The body is the payload as UTF-8 JSON (<c>content_type = application/json</c>,
/// persistent); the attributes are <c>cloudEvents_*</c> headers plus <c>traceparent</c>/<c>tracestate</c>;
/// <c>message_id</c>, <c>correlation_id</c>, <c>timestamp</c>, <c>type</c> and <c>app_id</c> repeat them
/// for the broker's UI.</para>
/// <para>Read: binary mode with the <c>cloudEvents_</c> or <c>cloudEvents:</c> prefix, structured mode
/// (<c>application/cloudevents+json</c>), and a plain JSON body with no CloudEvents attributes at all
/// (generated id, the routing key as the name, a chain start). Anything else is a decode error whose text
/// becomes the dead-letter reason.</para>
/// </remarks>
internal sealed class CloudEventsAmqpCodec
{
    public const string ContentTypeJson = "application/json";
    public const string ContentTypeCloudEventsJson = "application/cloudevents+json";
    public const string HeaderPrefix = "cloudEvents_";
    public const string HeaderPrefixColon = "cloudEvents:";
    public const string TraceParentHeader = "traceparent";
    public const string TraceStateHeader = "tracestate";

    /// <summary>The routing key a message was first published with, kept on copies we republish to a queue directly.</summary>
    public const string RoutingKeyHeader = "x-twyla-routing-key";

    /// <summary>Why a message was dead-lettered.</summary>
    public const string DropReasonHeader = "x-twyla-drop-reason";

    /// <summary>How many times a message copied back to its queue (a retry) was delivered before.</summary>
    public const string DeliveryCountHeader = "x-twyla-delivery-count";

    /// <summary>Quorum queues' count of earlier deliveries.</summary>
    public const string QuorumDeliveryCountHeader = "x-delivery-count";

    /// <summary>Why the previous delivery of a retried message failed.</summary>
    public const string LastFailureHeader = "x-twyla-last-failure";

    /// <summary>When a message was dead-lettered (Unix time in milliseconds).</summary>
    public const string DeadLetteredAtHeader = "x-twyla-dead-lettered-at";

    /// <summary>How many times a message was replayed from the dead-letter queue.</summary>
    public const string ReplayCountHeader = "x-twyla-replay-count";

    private const string SpecVersion = "1.0";

    public CloudEventsAmqpCodec(int maxBodySize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBodySize, 1);
        MaxBodySize = maxBodySize;
    }

    public int MaxBodySize { get; }

    /// <summary>The properties of a binary-mode message carrying <paramref name="envelope"/>; the body is <see cref="EventEnvelope.Data"/>.</summary>
    public static BasicProperties Encode(EventEnvelope envelope)
    {
        var m = envelope.Metadata;
        var headers = new Dictionary<string, object?>(12, StringComparer.Ordinal)
        {
            [HeaderPrefix + "specversion"] = SpecVersion,
            [HeaderPrefix + "id"] = m.Id,
            [HeaderPrefix + "type"] = m.Name,
            [HeaderPrefix + "source"] = m.Source,
            [HeaderPrefix + "time"] = FormatTime(m.Time),
            [HeaderPrefix + "correlationid"] = m.CorrelationId,
            [HeaderPrefix + "dataversion"] = m.Version.ToString(CultureInfo.InvariantCulture),
        };
        if (m.CausationId.Length > 0)
        {
            headers[HeaderPrefix + "causationid"] = m.CausationId;
        }

        if (!string.IsNullOrEmpty(envelope.TraceParent))
        {
            headers[TraceParentHeader] = envelope.TraceParent;
        }

        if (!string.IsNullOrEmpty(envelope.TraceState))
        {
            headers[TraceStateHeader] = envelope.TraceState;
        }

        return new BasicProperties
        {
            ContentType = ContentTypeJson,
            DeliveryMode = DeliveryModes.Persistent,
            MessageId = m.Id,
            CorrelationId = m.CorrelationId,
            Timestamp = new AmqpTimestamp(m.Time.ToUnixTimeSeconds()),
            Type = m.Name,
            AppId = m.Source,
            Headers = headers,
        };
    }

    /// <summary>RFC 3339 in UTC with 7 fractional digits (.NET's round-trip format, which has a fast path both ways).</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads a message. Never throws for bad input: the result carries either the envelope or the reason it
    /// cannot be read.
    /// </summary>
    /// <param name="routingKey">The routing key the message was published with.</param>
    /// <param name="properties">The message's properties.</param>
    /// <param name="body">
    /// A copy of the message body owned by the caller (the client only lends the body during the consumer
    /// callback); in binary and plain mode the envelope's data is this array.
    /// </param>
    public DecodeResult Decode(string routingKey, IReadOnlyBasicProperties properties, byte[] body)
    {
        try
        {
            return DecodeCore(routingKey, properties, body);
        }
#pragma warning disable CA1031 // any failure to read a message becomes its dead-letter reason
        catch (Exception e)
#pragma warning restore CA1031
        {
            return DecodeResult.Failed($"the message could not be read: {e.Message}");
        }
    }

    /// <summary>The value of a header as text (AMQP long strings arrive as bytes), or <c>null</c>.</summary>
    public static string? HeaderString(IDictionary<string, object?>? headers, string name) =>
        headers is not null && headers.TryGetValue(name, out var value) ? AsString(value) : null;

    /// <summary>The value of a header as a number, or <c>null</c> when absent or not a number.</summary>
    public static long? HeaderLong(IDictionary<string, object?>? headers, string name)
    {
        if (headers is null || !headers.TryGetValue(name, out var value) || value is null)
        {
            return null;
        }

        return value switch
        {
            byte b => b,
            sbyte sb => sb,
            short s => s,
            ushort us => us,
            int i => i,
            uint ui => ui,
            long l => l,
            ulong ul => (long)Math.Min(ul, long.MaxValue),
            _ => long.TryParse(AsString(value), NumberStyles.Integer, CultureInfo.InvariantCulture, out var parsed) ? parsed : null,
        };
    }

    public static string? AsString(object? value) => value switch
    {
        null => null,
        string s => s,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        ReadOnlyMemory<byte> mem => Encoding.UTF8.GetString(mem.Span),
        AmqpTimestamp ts => DateTimeOffset.FromUnixTimeSeconds(ts.UnixTime).ToString("O", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString(),
    };

    private DecodeResult DecodeCore(string routingKey, IReadOnlyBasicProperties properties, byte[] body)
    {
        if (body.Length > MaxBodySize)
        {
            return DecodeResult.Failed(string.Create(
                CultureInfo.InvariantCulture,
                $"the body of {body.Length} bytes is larger than the {MaxBodySize} bytes a listener accepts"));
        }

        var contentType = properties.ContentType;
        var mediaType = MediaType(contentType);
        var headers = properties.Headers;

        if (mediaType == ContentTypeCloudEventsJson)
        {
            return DecodeStructured(body, headers);
        }

        if (mediaType.Length > 0 && mediaType != ContentTypeJson && !mediaType.EndsWith("+json", StringComparison.Ordinal))
        {
            return DecodeResult.Failed($"the content type '{contentType}' is not JSON (expected {ContentTypeJson} or {ContentTypeCloudEventsJson})");
        }

        if (!IsJson(body, out var jsonError))
        {
            return DecodeResult.Failed($"the body is not valid JSON: {jsonError}");
        }

        var attributes = ReadBinaryAttributes(headers, out var traceParent, out var traceState);
        if (attributes.Count == 0)
        {
            // A copy we republished (reject on a classic queue) is named by the routing key it was first published with.
            var eventName = HeaderString(headers, RoutingKeyHeader) ?? routingKey;
            return DecodePlain(eventName, properties, body, traceParent, traceState);
        }

        DateTimeOffset? fallbackTime = properties.IsTimestampPresent()
            ? DateTimeOffset.FromUnixTimeSeconds(properties.Timestamp.UnixTime)
            : null;
        return FromAttributes(
            attributes,
            body,
            traceParent ?? attributes.TraceParent,
            traceState ?? attributes.TraceState,
            fallbackTime,
            "binary-mode CloudEvents headers");
    }

    private static DecodeResult DecodeStructured(byte[] body, IDictionary<string, object?>? headers)
    {
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            return DecodeResult.Failed($"the structured-mode CloudEvent is not valid JSON: {e.Message}");
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                return DecodeResult.Failed("the structured-mode CloudEvent is not a JSON object");
            }

            var a = default(Attributes);
            byte[]? data = null;
            foreach (var p in doc.RootElement.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "data":
                        data = Encoding.UTF8.GetBytes(p.Value.GetRawText());
                        break;
                    case "data_base64":
                        if (p.Value.ValueKind != JsonValueKind.String || !p.Value.TryGetBytesFromBase64(out data))
                        {
                            return DecodeResult.Failed("the structured-mode CloudEvent's data_base64 is not base64");
                        }

                        if (!IsJson(data, out var err))
                        {
                            return DecodeResult.Failed($"the structured-mode CloudEvent's data is not JSON: {err}");
                        }

                        break;
                    default:
                        a.Set(p.Name, p.Value.ValueKind switch
                        {
                            JsonValueKind.String => p.Value.GetString(),
                            JsonValueKind.Null => null,
                            _ => p.Value.GetRawText(),
                        });
                        break;
                }
            }

            var dataContentType = a.DataContentType;
            if (dataContentType is not null)
            {
                var media = MediaType(dataContentType);
                if (media != ContentTypeJson && !media.EndsWith("+json", StringComparison.Ordinal))
                {
                    return DecodeResult.Failed($"the structured-mode CloudEvent's datacontenttype '{dataContentType}' is not JSON");
                }
            }

            if (data is null)
            {
                return DecodeResult.Failed("the structured-mode CloudEvent has no data");
            }

            return FromAttributes(
                a,
                data,
                a.TraceParent ?? HeaderString(headers, TraceParentHeader),
                a.TraceState ?? HeaderString(headers, TraceStateHeader),
                null,
                "the structured-mode CloudEvent");
        }
    }

    private static DecodeResult DecodePlain(
        string routingKey, IReadOnlyBasicProperties properties, byte[] body, string? traceParent, string? traceState)
    {
        if (!EventName.IsValid(routingKey))
        {
            return DecodeResult.Failed(
                $"the message has no CloudEvents attributes and its routing key '{routingKey}' is not an event name ({EventName.NameRule})");
        }

        var id = string.IsNullOrWhiteSpace(properties.MessageId) ? Emit.EventIds.NewId() : properties.MessageId!;
        var time = properties.IsTimestampPresent() && properties.Timestamp.UnixTime > 0
            ? DateTimeOffset.FromUnixTimeSeconds(properties.Timestamp.UnixTime)
            : DateTimeOffset.UtcNow;
        var source = string.IsNullOrWhiteSpace(properties.AppId) ? "unknown" : properties.AppId!;
        var metadata = new EventMetadata(id, routingKey, id, string.Empty, time, source, 1);
        return DecodeResult.Ok(new EventEnvelope(metadata, body, traceParent, traceState));
    }

    private static DecodeResult FromAttributes(
        in Attributes a,
        byte[] body,
        string? traceParent,
        string? traceState,
        DateTimeOffset? fallbackTime,
        string what)
    {
        var specVersion = a.SpecVersion;
        if (specVersion != SpecVersion)
        {
            return DecodeResult.Failed(specVersion is null
                ? $"{what} lack specversion"
                : $"{what} have specversion '{specVersion}', only '{SpecVersion}' is understood");
        }

        var id = a.Id;
        if (string.IsNullOrEmpty(id))
        {
            return DecodeResult.Failed($"{what} lack the required id");
        }

        var source = a.Source;
        if (string.IsNullOrEmpty(source))
        {
            return DecodeResult.Failed($"{what} lack the required source");
        }

        var type = a.Type;
        if (string.IsNullOrEmpty(type))
        {
            return DecodeResult.Failed($"{what} lack the required type");
        }

        if (!EventName.IsValid(type))
        {
            return DecodeResult.Failed($"the CloudEvents type '{type}' is not an event name ({EventName.NameRule})");
        }

        DateTimeOffset time;
        var timeText = a.Time;
        if (timeText is null)
        {
            time = fallbackTime ?? DateTimeOffset.UtcNow;
        }
        else if (!DateTimeOffset.TryParseExact(timeText, "O", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out time) &&
                 (!DateTimeOffset.TryParse(
                      timeText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time) ||
                  !timeText.Contains('T', StringComparison.OrdinalIgnoreCase)))
        {
            return DecodeResult.Failed($"the CloudEvents time '{timeText}' is not an RFC 3339 timestamp");
        }

        var version = 1;
        var versionText = a.DataVersion;
        if (versionText is not null &&
            (!int.TryParse(versionText, NumberStyles.Integer, CultureInfo.InvariantCulture, out version) || version < 1))
        {
            return DecodeResult.Failed($"the CloudEvents dataversion '{versionText}' is not a positive integer");
        }

        var correlation = a.CorrelationId;
        var causation = a.CausationId ?? string.Empty;
        var metadata = new EventMetadata(
            id,
            type,
            string.IsNullOrEmpty(correlation) ? id : correlation,
            causation,
            time,
            source,
            version);
        return DecodeResult.Ok(new EventEnvelope(metadata, body, traceParent, traceState));
    }

    /// <summary>
    /// The CloudEvents attributes in <c>cloudEvents_x</c> / <c>cloudEvents:x</c> headers, and the W3C trace context
    /// headers, in one pass without intermediate collections (this runs for every delivery).
    /// </summary>
    private static Attributes ReadBinaryAttributes(IDictionary<string, object?>? headers, out string? traceParent, out string? traceState)
    {
        var a = default(Attributes);
        traceParent = null;
        traceState = null;
        if (headers is null)
        {
            return a;
        }

        foreach (var (key, value) in headers)
        {
            if (key.Length > HeaderPrefix.Length &&
                (key.StartsWith(HeaderPrefix, StringComparison.OrdinalIgnoreCase) ||
                 key.StartsWith(HeaderPrefixColon, StringComparison.OrdinalIgnoreCase)))
            {
                a.Set(key.AsSpan(HeaderPrefix.Length), AsString(value));
            }
            else if (key == TraceParentHeader)
            {
                traceParent = AsString(value);
            }
            else if (key == TraceStateHeader)
            {
                traceState = AsString(value);
            }
        }

        return a;
    }

    private static string MediaType(string? contentType)
    {
        if (string.IsNullOrWhiteSpace(contentType))
        {
            return string.Empty;
        }

        var semicolon = contentType.IndexOf(';', StringComparison.Ordinal);
        return (semicolon < 0 ? contentType : contentType[..semicolon]).Trim().ToLowerInvariant();
    }

    private static bool IsJson(ReadOnlySpan<byte> body, out string? error)
    {
        try
        {
            var reader = new Utf8JsonReader(body, new JsonReaderOptions { CommentHandling = JsonCommentHandling.Disallow });
            while (reader.Read())
            {
            }

            if (reader.BytesConsumed == 0)
            {
                error = "the body is empty";
                return false;
            }

            error = null;
            return true;
        }
        catch (JsonException e)
        {
            error = e.Message;
            return false;
        }
    }
}

/// <summary>The CloudEvents attributes a listener reads (names compared case-insensitively); others are only counted.</summary>
internal struct Attributes
{
    /// <summary>How many CloudEvents attributes were present, read or not.</summary>
    public int Count;
    public string? SpecVersion;
    public string? Id;
    public string? Type;
    public string? Source;
    public string? Time;
    public string? CorrelationId;
    public string? CausationId;
    public string? DataVersion;
    public string? DataContentType;
    public string? TraceParent;
    public string? TraceState;

    public void Set(ReadOnlySpan<char> name, string? value)
    {
        Count++;
        if (TrySet(name, value) || name.Length > 32)
        {
            return;
        }

        Span<char> lower = stackalloc char[32];
        TrySet(lower[..name.ToLowerInvariant(lower)], value);
    }

    private bool TrySet(ReadOnlySpan<char> name, string? value)
    {
        switch (name)
        {
            case "specversion": SpecVersion = value; return true;
            case "id": Id = value; return true;
            case "type": Type = value; return true;
            case "source": Source = value; return true;
            case "time": Time = value; return true;
            case "correlationid": CorrelationId = value; return true;
            case "causationid": CausationId = value; return true;
            case "dataversion": DataVersion = value; return true;
            case "datacontenttype": DataContentType = value; return true;
            case "traceparent": TraceParent = value; return true;
            case "tracestate": TraceState = value; return true;
            default: return false;
        }
    }
}

/// <summary>What <see cref="CloudEventsAmqpCodec.Decode"/> made of a message: an envelope or a reason.</summary>
internal readonly record struct DecodeResult(EventEnvelope? Envelope, string? Error)
{
    public static DecodeResult Ok(EventEnvelope envelope) => new(envelope, null);

    public static DecodeResult Failed(string error) => new(null, error);
}
