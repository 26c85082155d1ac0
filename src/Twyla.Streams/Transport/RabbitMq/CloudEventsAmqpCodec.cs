using System.Buffers;
using System.Buffers.Binary;
using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using Twyla.Streams.Events;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// Writes and reads events as AMQP 0-9-1 messages in the CloudEvents 1.0 AMQP binding.
/// </summary>
/// <remarks>
/// <para>Written: binary mode. The body is the payload as UTF-8 JSON (<c>content_type = application/json</c>, the
/// binding's mapping of <c>datacontenttype</c>; persistent); the attributes are <c>cloudEvents_*</c> headers (the
/// binding's primary mapping, which it requires) and nothing else: what a reader would derive anyway is left out.
/// <c>cloudEvents_correlationid</c> only when it is not the event's own id (it is at a chain start),
/// <c>cloudEvents_causationid</c> only when there is a cause, <c>cloudEvents_dataversion</c> only when the version
/// is not 1, <c>traceparent</c>/<c>tracestate</c> only when there is a trace. Every reader of this format, this
/// version's and the earlier ones', reads an absent attribute as that default, so nothing is lost. Version
/// 0.1.0 wrote every attribute and repeated them in the native <c>message_id</c>, <c>correlation_id</c>,
/// <c>timestamp</c>, <c>type</c> and <c>app_id</c>: its messages read the same (docs/design.md).</para>
/// <para>Read: binary mode with the <c>cloudEvents_</c> or <c>cloudEvents:</c> prefix, structured mode
/// (<c>application/cloudevents+json</c>), and a plain JSON body with no CloudEvents attributes at all
/// (the routing key as the name, a chain start). Anything else is a decode error whose text becomes the
/// dead-letter reason.</para>
/// <para>Strict where it matters: header names match exactly (the prefix, then the lower-case attribute name, as
/// the binding defines them; <c>cloudEvents_ID</c> is not an attribute and is ignored); a string attribute must
/// be text (an AMQP string or byte array, read as UTF-8; <c>time</c> may also be an AMQP timestamp and
/// <c>dataversion</c> an integer), anything else is a decode error naming the header; the event's type must be
/// the routing key it was published with. A plain message without <c>message_id</c> gets an id derived from
/// its content, so each delivery of it has the same id.</para>
/// </remarks>
internal sealed class CloudEventsAmqpCodec
{
    public const string ContentTypeJson = "application/json";
    public const string ContentTypeCloudEventsJson = "application/cloudevents+json";
    public const string HeaderPrefix = CloudEventsHeaders.Prefix;
    public const string HeaderPrefixColon = "cloudEvents:";
    public const string TraceParentHeader = CloudEventsHeaders.TraceParent;
    public const string TraceStateHeader = CloudEventsHeaders.TraceState;

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

    /// <summary>The contract version of an event that names none (no <c>dataversion</c>).</summary>
    private const int DefaultDataVersion = 1;

    public CloudEventsAmqpCodec(int maxBodySize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBodySize, 1);
        MaxBodySize = maxBodySize;
    }

    public int MaxBodySize { get; }

    /// <summary>The headers every message carries: spec version, id, type, source, time.</summary>
    private const int RequiredHeaders = 5;

    /// <summary>The properties of a binary-mode message carrying <paramref name="envelope"/>; the body is <see cref="EventEnvelope.Data"/>.</summary>
    /// <remarks>
    /// Headers cost the broker CPU per field and per byte on every publish (docs/benchmarks.md measures each), so an
    /// attribute whose value every reader derives when it is absent is not written (see the class remarks).
    /// </remarks>
    public static BasicProperties Encode(EventEnvelope envelope)
    {
        var m = envelope.Metadata;
        var correlated = !string.Equals(m.CorrelationId, m.Id, StringComparison.Ordinal);
        var optional = (correlated ? 1 : 0) + (m.CausationId.Length > 0 ? 1 : 0) + (m.Version != DefaultDataVersion ? 1 : 0) +
                       (string.IsNullOrEmpty(envelope.TraceParent) ? 0 : 1) + (string.IsNullOrEmpty(envelope.TraceState) ? 0 : 1);

        // Sized for what goes in, plus the publish sequence number RabbitMQ.Client adds on a channel with confirm
        // tracking (a dictionary sized 8 has 11 slots: allocated for every event).
        var headers = new Dictionary<string, object?>(RequiredHeaders + optional + 1, StringComparer.Ordinal)
        {
            [CloudEventsHeaders.SpecVersion] = SpecVersion,
            [CloudEventsHeaders.Id] = m.Id,
            [CloudEventsHeaders.Type] = m.Name,
            [CloudEventsHeaders.Source] = m.Source,
            [CloudEventsHeaders.Time] = FormatTime(m.Time),
        };
        if (correlated)
        {
            headers[CloudEventsHeaders.CorrelationId] = m.CorrelationId;
        }

        if (m.CausationId.Length > 0)
        {
            headers[CloudEventsHeaders.CausationId] = m.CausationId;
        }

        if (m.Version != DefaultDataVersion)
        {
            headers[CloudEventsHeaders.DataVersion] = m.Version.ToString(CultureInfo.InvariantCulture);
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
            Headers = headers,
        };
    }

    /// <summary>RFC 3339 in UTC with 7 fractional digits (.NET's round-trip format, which has a fast path both ways).</summary>
    public static string FormatTime(DateTimeOffset time) =>
        time.UtcDateTime.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>
    /// Reads a time in .NET's round-trip format (what <see cref="FormatTime"/> writes, or with an offset) as UTC.
    /// The form <see cref="FormatTime"/> writes (<c>yyyy-MM-ddTHH:mm:ss.fffffffZ</c>, 28 ASCII characters) goes through
    /// <see cref="Utf8Parser"/>'s round-trip parser, several times cheaper than <see cref="DateTimeOffset.TryParseExact(string, string, IFormatProvider, DateTimeStyles, out DateTimeOffset)"/>
    /// (which a CPU profile of the listen path showed at ~1% of the client's samples); anything else goes to the latter.
    /// </summary>
    internal static bool TryParseTime(string text, out DateTimeOffset time)
    {
        const int Length = 28; // yyyy-MM-ddTHH:mm:ss.fffffffZ
        if (text.Length == Length && text[Length - 1] == 'Z')
        {
            Span<byte> utf8 = stackalloc byte[Length];
            var ascii = true;
            for (var i = 0; i < Length; i++)
            {
                ascii &= text[i] < 128;
                utf8[i] = (byte)text[i];
            }

            if (ascii && Utf8Parser.TryParse(utf8, out DateTimeOffset parsed, out var consumed, 'O') && consumed == Length)
            {
                time = parsed.ToUniversalTime();
                return true;
            }
        }

        return DateTimeOffset.TryParseExact(text, "O", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal, out time);
    }

    /// <summary>
    /// Reads a message. Never throws for bad input: the result carries either the envelope or the reason it
    /// cannot be read.
    /// </summary>
    /// <param name="routingKey">
    /// The routing key the message was published with: for a copy of ours, the key it was first published with
    /// (<see cref="RabbitMqTopology.CopiedRoutingKey"/>), not the one the copy was delivered with.
    /// </param>
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

    /// <summary>The value of a header as text (AMQP long strings and byte arrays arrive as bytes), or <c>null</c> when absent or not text.</summary>
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

    /// <summary>
    /// A header value as text: an AMQP long string (<see cref="T:byte[]"/>) or byte array (<see cref="BinaryTableValue"/>,
    /// what Python's pika sends for <c>bytes</c>) read as UTF-8, or a string; <c>null</c> for anything else.
    /// </summary>
    public static string? AsString(object? value) => value switch
    {
        string s => s,
        byte[] bytes => Encoding.UTF8.GetString(bytes),
        BinaryTableValue binary => Encoding.UTF8.GetString(binary.Bytes),
        ReadOnlyMemory<byte> mem => Encoding.UTF8.GetString(mem.Span),
        _ => null,
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
            return DecodeStructured(routingKey, body, headers);
        }

        if (mediaType.Length > 0 && mediaType != ContentTypeJson && !mediaType.EndsWith("+json", StringComparison.Ordinal))
        {
            return DecodeResult.Failed($"the content type '{contentType}' is not JSON (expected {ContentTypeJson} or {ContentTypeCloudEventsJson})");
        }

        if (!IsJson(body, out var jsonError))
        {
            return DecodeResult.Failed($"the body is not valid JSON: {jsonError}");
        }

        var attributes = ReadBinaryAttributes(headers, routingKey, out var traceParent, out var traceState);
        if (attributes.Count == 0)
        {
            return attributes.Error is null
                ? DecodePlain(routingKey, properties, body, traceParent, traceState)
                : DecodeResult.Failed(attributes.Error);
        }

        DateTimeOffset? fallbackTime = properties.IsTimestampPresent()
            ? DateTimeOffset.FromUnixTimeSeconds(properties.Timestamp.UnixTime)
            : null;
        return FromAttributes(
            attributes,
            routingKey,
            body,
            traceParent ?? attributes.TraceParent,
            traceState ?? attributes.TraceState,
            fallbackTime,
            "binary-mode CloudEvents headers");
    }

    private static readonly JsonDocumentOptions StructuredOptions = new() { AllowDuplicateProperties = false };

    private static DecodeResult DecodeStructured(string routingKey, byte[] body, IDictionary<string, object?>? headers)
    {
        JsonDocument doc;
        try
        {
            // An attribute given twice ({"type":"a","type":"b"}) is ambiguous: refused, as duplicate payload members are.
            doc = JsonDocument.Parse(body, StructuredOptions);
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
                        var attribute = Attributes.Find(p.Name);
                        if (attribute == Attribute.Other)
                        {
                            break; // an extension this library does not read, whatever its type
                        }

                        var kind = p.Value.ValueKind;
                        if (kind is not (JsonValueKind.String or JsonValueKind.Null) &&
                            !(kind == JsonValueKind.Number && attribute == Attribute.DataVersion))
                        {
                            return DecodeResult.Failed(
                                $"the structured-mode CloudEvent's attribute '{p.Name}' is a JSON {(kind is JsonValueKind.True or JsonValueKind.False ? "boolean" : kind.ToString().ToLowerInvariant())}, not a string");
                        }

                        a.Set(attribute, kind == JsonValueKind.Number ? p.Value.GetRawText() : p.Value.GetString());
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
                routingKey,
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

        var id = string.IsNullOrWhiteSpace(properties.MessageId) ? ContentId(routingKey, properties, body) : properties.MessageId!;
        // Without a timestamp there is no time on the message: the time it was read stands in (it differs per delivery).
        var time = properties.IsTimestampPresent() && properties.Timestamp.UnixTime > 0
            ? DateTimeOffset.FromUnixTimeSeconds(properties.Timestamp.UnixTime)
            : DateTimeOffset.UtcNow;
        var source = string.IsNullOrWhiteSpace(properties.AppId) ? "unknown" : properties.AppId!;
        var metadata = new EventMetadata(id, routingKey, id, string.Empty, time, source, 1);
        return DecodeResult.Ok(new EventEnvelope(metadata, body, traceParent, traceState));
    }

    /// <summary>
    /// The id of a plain message that has no <c>message_id</c>: a name-based UUID (version 8, SHA-256, RFC 9562) of
    /// its routing key, the properties a redelivery keeps and its body, so every delivery of it has the same id.
    /// </summary>
    private static string ContentId(string routingKey, IReadOnlyBasicProperties properties, byte[] body)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        AppendField(hash, routingKey);
        AppendField(hash, properties.AppId);
        AppendField(hash, properties.CorrelationId);
        AppendField(hash, properties.Type);
        AppendField(hash, properties.IsTimestampPresent() ? properties.Timestamp.UnixTime.ToString(CultureInfo.InvariantCulture) : null);
        hash.AppendData(body);
        Span<byte> digest = stackalloc byte[32];
        hash.GetHashAndReset(digest);
        digest[6] = (byte)((digest[6] & 0x0F) | 0x80); // version 8
        digest[8] = (byte)((digest[8] & 0x3F) | 0x80); // RFC 9562 variant
        return new Guid(digest[..16], bigEndian: true).ToString();
    }

    /// <summary>Appends a length-prefixed field, so that no two different sets of fields hash the same bytes.</summary>
    private static void AppendField(IncrementalHash hash, string? value)
    {
        Span<byte> length = stackalloc byte[4];
        BinaryPrimitives.WriteInt32BigEndian(length, value is null ? -1 : value.Length);
        hash.AppendData(length);
        if (value is not null)
        {
            hash.AppendData(Encoding.UTF8.GetBytes(value));
        }
    }

    private static DecodeResult FromAttributes(
        in Attributes a,
        string routingKey,
        byte[] body,
        string? traceParent,
        string? traceState,
        DateTimeOffset? fallbackTime,
        string what)
    {
        if (a.Error is not null)
        {
            return DecodeResult.Failed(a.Error);
        }

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

        if (type != routingKey)
        {
            // A listener is bound to routing keys: an event named otherwise would reach handlers that never asked for it.
            return DecodeResult.Failed($"the CloudEvents type '{type}' does not match routing key '{routingKey}' it was published with");
        }

        DateTimeOffset time;
        var timeText = a.Time;
        if (timeText is null)
        {
            time = fallbackTime ?? DateTimeOffset.UtcNow;
        }
        else if (!TryParseTime(timeText, out time) &&
                 (!DateTimeOffset.TryParse(
                      timeText, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out time) ||
                  !timeText.Contains('T', StringComparison.OrdinalIgnoreCase)))
        {
            return DecodeResult.Failed($"the CloudEvents time '{timeText}' is not an RFC 3339 timestamp");
        }

        var version = DefaultDataVersion;
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
    private static Attributes ReadBinaryAttributes(
        IDictionary<string, object?>? headers, string routingKey, out string? traceParent, out string? traceState)
    {
        var a = default(Attributes);
        traceParent = null;
        traceState = null;
        if (headers is null)
        {
            return a;
        }

        // The client hands headers over as a Dictionary: enumerated as one, the enumerator is not boxed (once per delivery).
        foreach (var (key, value) in headers as Dictionary<string, object?> ?? new Dictionary<string, object?>(headers))
        {
            if (key.Length > HeaderPrefix.Length &&
                (key.StartsWith(HeaderPrefix, StringComparison.Ordinal) ||
                 key.StartsWith(HeaderPrefixColon, StringComparison.Ordinal)))
            {
                var name = key.AsSpan(HeaderPrefix.Length);
                var attribute = Attributes.Find(name);
                if (attribute != Attribute.Other)
                {
                    a.Count++;
                    a.Set(attribute, KnownText(attribute, value, routingKey) ?? AttributeText(key, attribute, value, ref a.Error));
                }
                else if (Attributes.IsName(name))
                {
                    a.Count++; // an extension this library does not read, whatever its type
                }
            }
            else if (key == TraceParentHeader)
            {
                traceParent = AttributeText(key, Attribute.TraceParent, value, ref a.Error);
            }
            else if (key == TraceStateHeader)
            {
                traceState = AttributeText(key, Attribute.TraceState, value, ref a.Error);
            }
        }

        return a;
    }

    /// <summary>
    /// The string a reader already holds for a header's bytes, without decoding them: the spec version this codec
    /// understands, and the type when it is the routing key (which it must be; a type that differs is decoded and then
    /// refused). <c>null</c> for anything else. Saves two strings per delivery.
    /// </summary>
    internal static string? KnownText(Attribute attribute, object? value, string routingKey) => (attribute, value) switch
    {
        (Attribute.SpecVersion, byte[] bytes) when bytes.AsSpan().SequenceEqual("1.0"u8) => SpecVersion,
        (Attribute.Type, byte[] bytes) when IsAscii(bytes, routingKey) => routingKey,
        _ => null,
    };

    /// <summary>Whether <paramref name="bytes"/> are <paramref name="text"/> in ASCII (so in UTF-8).</summary>
    private static bool IsAscii(ReadOnlySpan<byte> bytes, string text)
    {
        if (bytes.Length != text.Length)
        {
            return false;
        }

        for (var i = 0; i < bytes.Length; i++)
        {
            if (bytes[i] >= 128 || bytes[i] != text[i])
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// The text of a header holding a string attribute; for any other AMQP type, <c>null</c> and the first such error in
    /// <paramref name="error"/> (never the <c>ToString()</c> of a .NET type: a table id would give every event one id).
    /// </summary>
    private static string? AttributeText(string header, Attribute attribute, object? value, ref string? error)
    {
        switch (value)
        {
            case byte[] bytes:
                return Encoding.UTF8.GetString(bytes);
            case string s:
                return s;
            case BinaryTableValue binary:
                return Encoding.UTF8.GetString(binary.Bytes);
            case null:
                return null;
            case AmqpTimestamp ts when attribute == Attribute.Time:
                return FormatTime(DateTimeOffset.FromUnixTimeSeconds(ts.UnixTime));
            case byte or sbyte or short or ushort or int or uint or long when attribute == Attribute.DataVersion:
                return ((IFormattable)value).ToString(null, CultureInfo.InvariantCulture);
            default:
                error ??= $"the header '{header}' holds {AmqpTypeName(value)} where text is expected";
                return null;
        }
    }

    private static string AmqpTypeName(object value) => value switch
    {
        IDictionary<string, object?> => "a table",
        System.Collections.IList => "an array",
        bool => "a boolean",
        AmqpTimestamp => "a timestamp",
        byte or sbyte or short or ushort or int or uint or long or ulong or float or double or decimal => "a number",
        _ => "a value of another type",
    };

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

/// <summary>The CloudEvents attributes a listener reads.</summary>
internal enum Attribute
{
    Other,
    SpecVersion,
    Id,
    Type,
    Source,
    Time,
    CorrelationId,
    CausationId,
    DataVersion,
    DataContentType,
    TraceParent,
    TraceState,
}

/// <summary>The CloudEvents attributes a listener reads (names match exactly, as the binding defines them); others are only counted.</summary>
internal struct Attributes
{
    private static readonly SearchValues<char> LowerCaseLettersAndDigits = SearchValues.Create("abcdefghijklmnopqrstuvwxyz0123456789");

    /// <summary>How many CloudEvents attributes were present, read or not.</summary>
    public int Count;

    /// <summary>Why an attribute could not be read (the first such reason), or <c>null</c>.</summary>
    public string? Error;
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

    public static Attribute Find(ReadOnlySpan<char> name) => name switch
    {
        "specversion" => Attribute.SpecVersion,
        "id" => Attribute.Id,
        "type" => Attribute.Type,
        "source" => Attribute.Source,
        "time" => Attribute.Time,
        "correlationid" => Attribute.CorrelationId,
        "causationid" => Attribute.CausationId,
        "dataversion" => Attribute.DataVersion,
        "datacontenttype" => Attribute.DataContentType,
        "traceparent" => Attribute.TraceParent,
        "tracestate" => Attribute.TraceState,
        _ => Attribute.Other,
    };

    /// <summary>Whether <paramref name="name"/> is a CloudEvents attribute name (lower-case ASCII letters and digits).</summary>
    public static bool IsName(ReadOnlySpan<char> name) => !name.IsEmpty && !name.ContainsAnyExcept(LowerCaseLettersAndDigits);

    /// <summary>The attributes set so far, one bit per <see cref="Attribute"/>.</summary>
    private int _seen;

    /// <summary>
    /// Records <paramref name="value"/> for <paramref name="attribute"/>. An attribute given twice with different
    /// values (as both <c>cloudEvents_id</c> and <c>cloudEvents:id</c>) is ambiguous: the first such attribute
    /// becomes the <see cref="Error"/>, as a payload member given twice is refused rather than one of them taken.
    /// The same value twice (a bridge that writes both prefixes) is one attribute.
    /// </summary>
    public void Set(Attribute attribute, string? value)
    {
        var bit = 1 << (int)attribute;
        if ((_seen & bit) != 0 && !string.Equals(Get(attribute), value, StringComparison.Ordinal))
        {
            Error ??= $"the CloudEvents attribute '{attribute.ToString().ToLowerInvariant()}' is given twice " +
                      $"(as both {CloudEventsAmqpCodec.HeaderPrefix}… and {CloudEventsAmqpCodec.HeaderPrefixColon}… headers): ambiguous";
        }

        _seen |= bit;
        switch (attribute)
        {
            case Attribute.SpecVersion: SpecVersion = value; break;
            case Attribute.Id: Id = value; break;
            case Attribute.Type: Type = value; break;
            case Attribute.Source: Source = value; break;
            case Attribute.Time: Time = value; break;
            case Attribute.CorrelationId: CorrelationId = value; break;
            case Attribute.CausationId: CausationId = value; break;
            case Attribute.DataVersion: DataVersion = value; break;
            case Attribute.DataContentType: DataContentType = value; break;
            case Attribute.TraceParent: TraceParent = value; break;
            case Attribute.TraceState: TraceState = value; break;
        }
    }

    private readonly string? Get(Attribute attribute) => attribute switch
    {
        Attribute.SpecVersion => SpecVersion,
        Attribute.Id => Id,
        Attribute.Type => Type,
        Attribute.Source => Source,
        Attribute.Time => Time,
        Attribute.CorrelationId => CorrelationId,
        Attribute.CausationId => CausationId,
        Attribute.DataVersion => DataVersion,
        Attribute.DataContentType => DataContentType,
        Attribute.TraceParent => TraceParent,
        Attribute.TraceState => TraceState,
        _ => null,
    };
}

/// <summary>What <see cref="CloudEventsAmqpCodec.Decode"/> made of a message: an envelope or a reason.</summary>
internal readonly record struct DecodeResult(EventEnvelope? Envelope, string? Error)
{
    public static DecodeResult Ok(EventEnvelope envelope) => new(envelope, null);

    public static DecodeResult Failed(string error) => new(null, error);
}
