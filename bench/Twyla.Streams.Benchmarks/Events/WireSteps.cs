using System.Globalization;
using RabbitMQ.Client;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Benchmarks.Events;

/// <summary>
/// <c>--wire-steps</c>: raw sides that send the plain baseline's message plus a growing part of what our messages
/// carried up to version 0.1.0 (every <c>cloudEvents_*</c> header and the native property copies), one step per side,
/// so that what each header and property costs the broker and the client can be read off the differences.
/// </summary>
internal static class WireSteps
{
    private const string Prefix = CloudEventsAmqpCodec.HeaderPrefix;

    /// <summary>The steps, each adding to the one before (the first adds the native copies to the plain message).</summary>
    public static readonly IReadOnlyList<(string Label, Func<EventEnvelope, BasicProperties> Properties)> All =
    [
        ("native_copies", e => WithNative(Plain(), e)),
        ("h_specversion", e => Headers(e, 1)),
        ("h_id", e => Headers(e, 2)),
        ("h_type_source", e => Headers(e, 4)),
        ("h_time", e => Headers(e, 5)),
        ("h_correlationid", e => Headers(e, 6)),
        ("h_dataversion", e => Headers(e, 7)),
        ("h_all_native", e => WithNative(Headers(e, 7), e)),
    ];

    private static BasicProperties Plain() => new() { ContentType = "application/json", DeliveryMode = DeliveryModes.Persistent };

    /// <summary>The plain properties and the first <paramref name="count"/> headers version 0.1.0 wrote, in its order.</summary>
    private static BasicProperties Headers(EventEnvelope e, int count)
    {
        var m = e.Metadata;
        (string, object?)[] all =
        [
            (Prefix + "specversion", "1.0"),
            (Prefix + "id", m.Id),
            (Prefix + "type", m.Name),
            (Prefix + "source", m.Source),
            (Prefix + "time", CloudEventsAmqpCodec.FormatTime(m.Time)),
            (Prefix + "correlationid", m.CorrelationId),
            (Prefix + "dataversion", m.Version.ToString(CultureInfo.InvariantCulture)),
        ];
        var props = Plain();
        props.Headers = new Dictionary<string, object?>(count, StringComparer.Ordinal);
        foreach (var (name, value) in all.Take(count))
        {
            props.Headers[name] = value;
        }

        return props;
    }

    private static BasicProperties WithNative(BasicProperties props, EventEnvelope e)
    {
        var m = e.Metadata;
        props.MessageId = m.Id;
        props.CorrelationId = m.CorrelationId;
        props.Timestamp = new AmqpTimestamp(m.Time.ToUnixTimeSeconds());
        props.Type = m.Name;
        props.AppId = m.Source;
        return props;
    }
}
