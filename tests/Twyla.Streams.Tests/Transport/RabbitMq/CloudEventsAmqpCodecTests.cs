using System.Text;
using RabbitMQ.Client;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;
using CeAttribute = Twyla.Streams.Transport.RabbitMq.Attribute;

namespace Twyla.Streams.Tests.Transport.RabbitMq;

public class CloudEventsAmqpCodecTests
{
    private static readonly CloudEventsAmqpCodec Codec = new(4 * 1024 * 1024);

    private static readonly EventMetadata Metadata = new(
        "0195b4a0-0000-7000-8000-000000000001",
        "booking.created",
        "0195b4a0-0000-7000-8000-000000000000",
        "0195b4a0-0000-7000-8000-00000000000f",
        new DateTimeOffset(2026, 11, 27, 18, 30, 15, 123, TimeSpan.Zero),
        "booking-api",
        3);

    private static byte[] Json(string s) => Encoding.UTF8.GetBytes(s);

    private static string H(IDictionary<string, object?> headers, string name) =>
        CloudEventsAmqpCodec.HeaderString(headers, name) ?? throw new Xunit.Sdk.XunitException($"header {name} missing");

    [Fact]
    public void Encode_should_write_binary_mode_CloudEvents_headers_and_no_native_copies()
    {
        var env = new EventEnvelope(Metadata, Json("{\"id\":1}"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "congo=t61rcWkgMzE");

        var p = CloudEventsAmqpCodec.Encode(env);

        Assert.Equal("application/json", p.ContentType);
        Assert.Equal(DeliveryModes.Persistent, p.DeliveryMode);
        Assert.Equal(
            (false, false, false, false, false),
            (p.IsMessageIdPresent(), p.IsCorrelationIdPresent(), p.IsTimestampPresent(), p.IsTypePresent(), p.IsAppIdPresent()));
        var h = p.Headers!;
        Assert.Equal("1.0", H(h, "cloudEvents_specversion"));
        Assert.Equal(Metadata.Id, H(h, "cloudEvents_id"));
        Assert.Equal("booking.created", H(h, "cloudEvents_type"));
        Assert.Equal("booking-api", H(h, "cloudEvents_source"));
        Assert.Equal("2026-11-27T18:30:15.1230000Z", H(h, "cloudEvents_time"));
        Assert.Equal(Metadata.CorrelationId, H(h, "cloudEvents_correlationid"));
        Assert.Equal(Metadata.CausationId, H(h, "cloudEvents_causationid"));
        Assert.Equal("3", H(h, "cloudEvents_dataversion"));
        Assert.Equal(env.TraceParent, H(h, "traceparent"));
        Assert.Equal(env.TraceState, H(h, "tracestate"));
        Assert.Equal(10, h.Count);
    }

    [Fact]
    public void Encode_should_write_only_the_required_attributes_and_time_for_an_untraced_chain_start_of_version_1()
    {
        var id = "0195b4a0-0000-7000-8000-0000000000aa";
        var start = Metadata with { Id = id, CorrelationId = id, CausationId = string.Empty, Version = 1 };

        var h = CloudEventsAmqpCodec.Encode(new EventEnvelope(start, Json("{}"), null, null)).Headers!;

        Assert.Equal(
            ["cloudEvents_id", "cloudEvents_source", "cloudEvents_specversion", "cloudEvents_time", "cloudEvents_type"],
            h.Keys.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Encode_should_omit_causation_and_trace_context_when_absent()
    {
        var start = Metadata with { CausationId = string.Empty };

        var h = CloudEventsAmqpCodec.Encode(new EventEnvelope(start, Json("{}"), null, null)).Headers!;

        Assert.False(h.ContainsKey("cloudEvents_causationid"));
        Assert.False(h.ContainsKey("traceparent"));
        Assert.False(h.ContainsKey("tracestate"));
    }

    /// <summary>
    /// Both directions between this version and 0.1.0, which wrote every attribute and the native copies: the same
    /// event encoded either way decodes to the same metadata, payload and trace context. 0.1.0's decoder is this
    /// one's (its rules for absent attributes are pinned by the next test), so it reads this version's messages.
    /// </summary>
    [Theory]
    [InlineData(true, 1, false)]
    [InlineData(false, 1, false)]
    [InlineData(true, 4, true)]
    [InlineData(false, 2, true)]
    public void Messages_of_this_version_and_of_0_1_0_should_decode_to_the_same_event(bool chainStart, int version, bool traced)
    {
        var id = "0195b4a0-0000-7000-8000-0000000000bb";
        var m = chainStart
            ? Metadata with { Id = id, CorrelationId = id, CausationId = string.Empty, Version = version }
            : Metadata with { Version = version };
        var env = new EventEnvelope(
            m, Json("{\"seats\":2}"), traced ? "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" : null, traced ? "a=b" : null);

        var current = Codec.Decode("booking.created", AsReceived(CloudEventsAmqpCodec.Encode(env)), env.Data.ToArray());
        var previous = Codec.Decode("booking.created", AsReceived(AsVersion010Wrote(env)), env.Data.ToArray());

        Assert.Null(current.Error);
        Assert.Null(previous.Error);
        Assert.Equal(m, current.Envelope!.Metadata);
        Assert.Equal(m, previous.Envelope!.Metadata);
        Assert.Equal((env.TraceParent, env.TraceState), (current.Envelope.TraceParent, current.Envelope.TraceState));
        Assert.Equal((env.TraceParent, env.TraceState), (previous.Envelope.TraceParent, previous.Envelope.TraceState));
        Assert.Equal("{\"seats\":2}", Encoding.UTF8.GetString(current.Envelope.Data.Span));
    }

    [Fact]
    public void Decode_should_read_an_absent_correlationid_as_the_event_id_and_an_absent_dataversion_as_1()
    {
        var props = new BasicProperties
        {
            ContentType = "application/json",
            Headers = new Dictionary<string, object?>
            {
                ["cloudEvents_specversion"] = "1.0"u8.ToArray(),
                ["cloudEvents_id"] = "e-1"u8.ToArray(),
                ["cloudEvents_type"] = "booking.created"u8.ToArray(),
                ["cloudEvents_source"] = "booking-api"u8.ToArray(),
                ["cloudEvents_time"] = "2026-11-27T18:30:15Z"u8.ToArray(),
            },
        };

        var m = Codec.Decode("booking.created", props, Json("{}")).Envelope!.Metadata;

        Assert.Equal(("e-1", "e-1", string.Empty, 1, true), (m.Id, m.CorrelationId, m.CausationId, m.Version, m.IsChainStart));
    }

    [Fact]
    public void Decode_should_round_trip_what_encode_wrote()
    {
        var env = new EventEnvelope(Metadata, Json("{\"id\":1}"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "a=b");
        var props = AsReceived(CloudEventsAmqpCodec.Encode(env));

        var result = Codec.Decode("booking.created", props, env.Data.ToArray());

        Assert.Null(result.Error);
        Assert.Equal(Metadata, result.Envelope!.Metadata);
        Assert.Equal("{\"id\":1}", Encoding.UTF8.GetString(result.Envelope.Data.Span));
        Assert.Equal(env.TraceParent, result.Envelope.TraceParent);
        Assert.Equal(env.TraceState, result.Envelope.TraceState);
    }

    [Fact]
    public void Decode_should_accept_the_colon_prefix()
    {
        var props = new BasicProperties
        {
            ContentType = "application/json; charset=utf-8",
            Headers = new Dictionary<string, object?>
            {
                ["cloudEvents:specversion"] = Encoding.UTF8.GetBytes("1.0"),
                ["cloudEvents:id"] = Encoding.UTF8.GetBytes("e-1"),
                ["cloudEvents:type"] = Encoding.UTF8.GetBytes("booking.created"),
                ["cloudEvents:source"] = Encoding.UTF8.GetBytes("/legacy"),
                ["cloudEvents:time"] = Encoding.UTF8.GetBytes("2026-11-27T19:30:15+01:00"),
            },
        };

        var result = Codec.Decode("booking.created", props, Json("{\"a\":1}"));

        Assert.Null(result.Error);
        var m = result.Envelope!.Metadata;
        Assert.Equal("e-1", m.Id);
        Assert.Equal("booking.created", m.Name);
        Assert.Equal("/legacy", m.Source);
        Assert.Equal("e-1", m.CorrelationId);
        Assert.True(m.IsChainStart);
        Assert.Equal(1, m.Version);
        Assert.Equal(new DateTimeOffset(2026, 11, 27, 18, 30, 15, TimeSpan.Zero), m.Time);
    }

    [Fact]
    public void Decode_should_read_structured_mode()
    {
        var body = Json("""
            {"specversion":"1.0","id":"s-1","type":"booking.cancelled","source":"urn:legacy","time":"2026-11-27T18:30:15Z",
             "datacontenttype":"application/json","correlationid":"c-9","causationid":"s-0","dataversion":"2",
             "traceparent":"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01","data":{"bookingId":"B1","seats":[1,2]}}
            """);
        var props = new BasicProperties { ContentType = "application/cloudevents+json; charset=UTF-8" };

        var result = Codec.Decode("booking.cancelled", props, body);

        Assert.Null(result.Error);
        var m = result.Envelope!.Metadata;
        Assert.Equal(new EventMetadata("s-1", "booking.cancelled", "c-9", "s-0", new DateTimeOffset(2026, 11, 27, 18, 30, 15, TimeSpan.Zero), "urn:legacy", 2), m);
        Assert.Equal("{\"bookingId\":\"B1\",\"seats\":[1,2]}", Encoding.UTF8.GetString(result.Envelope.Data.Span));
        Assert.Equal("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", result.Envelope.TraceParent);
    }

    [Fact]
    public void Decode_should_accept_plain_JSON_with_no_CloudEvents_attributes_as_a_chain_start_named_by_the_routing_key()
    {
        var props = new BasicProperties { ContentType = "application/json" };

        var result = Codec.Decode("booking.created", props, Json("{\"bookingId\":\"B1\"}"));

        Assert.Null(result.Error);
        var m = result.Envelope!.Metadata;
        Assert.Equal("booking.created", m.Name);
        Assert.True(Guid.TryParse(m.Id, out var id));
        Assert.Equal(8, id.Version); // name-based (RFC 9562), see the redelivery test below
        Assert.Equal(m.Id, m.CorrelationId);
        Assert.True(m.IsChainStart);
        Assert.Equal(1, m.Version);
    }

    [Fact]
    public void Decode_should_use_native_message_id_and_app_id_of_a_plain_message()
    {
        var props = new BasicProperties { MessageId = "legacy-7", AppId = "old-service", Timestamp = new AmqpTimestamp(1_800_000_000) };

        var m = Codec.Decode("booking.created", props, Json("[1,2]")).Envelope!.Metadata;

        Assert.Equal("legacy-7", m.Id);
        Assert.Equal("old-service", m.Source);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), m.Time);
    }

    [Fact]
    public void Decode_should_name_a_message_by_the_key_it_is_given_not_by_an_x_twyla_routing_key_header()
    {
        // Which key a delivery was published with is the transport's call (RabbitMqTopology.CopiedRoutingKey trusts the
        // header only on copies that came through the group's router); the codec does not look again.
        var props = new BasicProperties { Headers = new Dictionary<string, object?> { ["x-twyla-routing-key"] = Encoding.UTF8.GetBytes("booking.created") } };

        var result = Codec.Decode("booking.updated", props, Json("{}"));

        Assert.Equal("booking.updated", result.Envelope!.Metadata.Name);
    }

    [Fact]
    public void Decode_should_give_every_delivery_of_a_plain_message_without_message_id_the_same_id()
    {
        var props = new BasicProperties { AppId = "old-service", Timestamp = new AmqpTimestamp(1_800_000_000) };
        var redelivered = new BasicProperties(props) { Headers = new Dictionary<string, object?> { ["x-twyla-delivery-count"] = 1L } };

        var first = Codec.Decode("booking.created", props, Json("{\"bookingId\":\"B1\"}")).Envelope!.Metadata;
        var again = Codec.Decode("booking.created", redelivered, Json("{\"bookingId\":\"B1\"}")).Envelope!.Metadata;
        var other = Codec.Decode("booking.created", props, Json("{\"bookingId\":\"B2\"}")).Envelope!.Metadata;
        var elsewhere = Codec.Decode("booking.cancelled", props, Json("{\"bookingId\":\"B1\"}")).Envelope!.Metadata;

        Assert.Equal(first.Id, again.Id);
        Assert.Equal(first.Time, again.Time);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), first.Time);
        Assert.NotEqual(first.Id, other.Id);
        Assert.NotEqual(first.Id, elsewhere.Id);
    }

    [Fact]
    public void Decode_should_read_attributes_sent_as_AMQP_byte_arrays_as_UTF8_text()
    {
        // What Python's pika sends for bytes values, and RabbitMQ.Client hands to a consumer as BinaryTableValue.
        var env = new EventEnvelope(Metadata, Json("{\"id\":1}"), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", null);
        var sent = CloudEventsAmqpCodec.Encode(env);
        var props = new BasicProperties(sent)
        {
            Headers = sent.Headers!.ToDictionary(kv => kv.Key, kv => (object?)new BinaryTableValue(Encoding.UTF8.GetBytes((string)kv.Value!))),
        };

        var result = Codec.Decode("booking.created", props, env.Data.ToArray());

        Assert.Null(result.Error);
        Assert.Equal(Metadata, result.Envelope!.Metadata);
        Assert.Equal(env.TraceParent, result.Envelope.TraceParent);
    }

    public static TheoryData<string, object, string> NotText => new()
    {
        { "id", new Dictionary<string, object?> { ["a"] = 1 }, "a table" },
        { "id", new List<object?> { "e-1" }, "an array" },
        { "type", 42, "a number" },
        { "source", true, "a boolean" },
        { "specversion", 1.0d, "a number" },
        { "correlationid", new AmqpTimestamp(1_800_000_000), "a timestamp" },
        { "causationid", new Dictionary<string, object?>(), "a table" },
        { "dataversion", true, "a boolean" },
    };

    [Theory]
    [MemberData(nameof(NotText))]
    public void Decode_should_refuse_a_string_attribute_that_is_not_text_naming_the_header(string attribute, object value, string what)
    {
        var props = AsReceived(CloudEventsAmqpCodec.Encode(new EventEnvelope(Metadata, Json("{}"), null, null)));
        props.Headers!["cloudEvents_" + attribute] = value;

        var result = Codec.Decode("booking.created", props, Json("{}"));

        Assert.Null(result.Envelope);
        Assert.Equal($"the header 'cloudEvents_{attribute}' holds {what} where text is expected", result.Error);
    }

    [Fact]
    public void Decode_should_accept_an_AMQP_timestamp_for_time_and_an_integer_for_dataversion()
    {
        var props = AsReceived(CloudEventsAmqpCodec.Encode(new EventEnvelope(Metadata, Json("{}"), null, null)));
        props.Headers!["cloudEvents_time"] = new AmqpTimestamp(1_800_000_000);
        props.Headers["cloudEvents_dataversion"] = 3;

        var m = Codec.Decode("booking.created", props, Json("{}")).Envelope!.Metadata;

        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), m.Time);
        Assert.Equal(3, m.Version);
    }

    [Fact]
    public void Decode_should_refuse_a_structured_mode_string_attribute_that_is_not_a_JSON_string()
    {
        var body = Json("""{"specversion":"1.0","id":{"a":1},"type":"booking.created","source":"s","data":{}}""");

        var result = Codec.Decode("booking.created", new BasicProperties { ContentType = "application/cloudevents+json" }, body);

        Assert.Null(result.Envelope);
        Assert.Equal("the structured-mode CloudEvent's attribute 'id' is a JSON object, not a string", result.Error);
    }

    [Theory]
    [InlineData("""{"specversion":"1.0","id":"e1","type":"other.event","type":"booking.created","source":"s","data":{}}""")]
    [InlineData("""{"specversion":"1.0","id":"e1","id":"e2","type":"booking.created","source":"s","data":{}}""")]
    [InlineData("""{"specversion":"1.0","id":"e1","type":"booking.created","source":"s","data":{"n":1},"data":{"n":2}}""")]
    public void Decode_should_refuse_a_structured_mode_event_that_gives_an_attribute_twice(string json)
    {
        var result = Codec.Decode("booking.created", new BasicProperties { ContentType = "application/cloudevents+json" }, Json(json));

        Assert.Null(result.Envelope);
        Assert.Contains("not valid JSON", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_should_refuse_a_binary_mode_event_that_gives_an_attribute_twice_with_different_values()
    {
        var props = AsReceived(CloudEventsAmqpCodec.Encode(new EventEnvelope(Metadata, Json("{}"), null, null)));
        props.Headers!["cloudEvents:id"] = Encoding.UTF8.GetBytes("forged");

        var result = Codec.Decode("booking.created", props, Json("{}"));

        Assert.Null(result.Envelope);
        Assert.Contains("'id' is given twice", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_should_take_an_attribute_given_under_both_prefixes_with_the_same_value()
    {
        var props = AsReceived(CloudEventsAmqpCodec.Encode(new EventEnvelope(Metadata, Json("{}"), null, null)));
        props.Headers!["cloudEvents:id"] = Encoding.UTF8.GetBytes(Metadata.Id);

        var result = Codec.Decode("booking.created", props, Json("{}"));

        Assert.Equal(Metadata, result.Envelope!.Metadata);
    }

    [Fact]
    public void Decode_should_match_header_names_exactly_so_another_casing_neither_overrides_nor_stands_for_an_attribute()
    {
        var props = AsReceived(CloudEventsAmqpCodec.Encode(new EventEnvelope(Metadata, Json("{}"), null, null)));
        props.Headers!["cloudEvents_ID"] = Encoding.UTF8.GetBytes("forged");
        props.Headers["CloudEvents_type"] = Encoding.UTF8.GetBytes("booking.cancelled");
        var onlyOtherCasing = new BasicProperties { Headers = new Dictionary<string, object?> { ["cloudEvents_ID"] = Encoding.UTF8.GetBytes("x") } };

        var result = Codec.Decode("booking.created", props, Json("{}"));
        var plain = Codec.Decode("booking.created", onlyOtherCasing, Json("{}"));

        Assert.Equal(Metadata, result.Envelope!.Metadata);
        Assert.Null(plain.Error); // not a CloudEvents attribute: the message is a plain one
        Assert.NotEqual("x", plain.Envelope!.Metadata.Id);
    }

    [Fact]
    public void Decode_should_refuse_an_event_whose_type_is_not_the_routing_key_it_was_published_with()
    {
        var binary = AsReceived(CloudEventsAmqpCodec.Encode(new EventEnvelope(Metadata, Json("{}"), null, null)));
        var structured = Json("""{"specversion":"1.0","id":"s-1","type":"booking.created","source":"s","data":{}}""");

        var binaryResult = Codec.Decode("booking.cancelled", binary, Json("{}"));
        var structuredResult = Codec.Decode("booking.cancelled", new BasicProperties { ContentType = "application/cloudevents+json" }, structured);

        const string reason = "the CloudEvents type 'booking.created' does not match routing key 'booking.cancelled' it was published with";
        Assert.Equal((null, reason), (binaryResult.Envelope, binaryResult.Error));
        Assert.Equal((null, reason), (structuredResult.Envelope, structuredResult.Error));
    }

    public static TheoryData<string, string?, string?, string> Malformed => new()
    {
        // body, content type, header tweak, expected words in the reason
        { "not json at all", "application/json", null, "not valid JSON" },
        { "{\"a\":1", "application/json", null, "not valid JSON" },
        { "", "application/json", null, "not valid JSON" },
        { "{\"a\":1}", "text/plain", null, "content type 'text/plain' is not JSON" },
        { "{\"a\":1}", "application/octet-stream", null, "is not JSON" },
        { "{\"a\":1}", "application/json", "specversion=0.3", "specversion '0.3'" },
        { "{\"a\":1}", "application/json", "id=", "lack the required id" },
        { "{\"a\":1}", "application/json", "type=Not A Name", "is not an event name" },
        { "{\"a\":1}", "application/json", "time=yesterday", "not an RFC 3339 timestamp" },
        { "{\"a\":1}", "application/json", "dataversion=two", "dataversion 'two'" },
        { "{\"a\":1}", "application/json", "source=", "lack the required source" },
        { "{\"a\":1}", "application/json", "routing=not-an-event", "routing key 'not-an-event' is not an event name" },
        { "{\"specversion\":\"1.0\",\"id\":\"x\",\"type\":\"booking.created\",\"source\":\"s\"}", "application/cloudevents+json", null, "has no data" },
        { "[1]", "application/cloudevents+json", null, "not a JSON object" },
        { "{oops", "application/cloudevents+json", null, "structured-mode CloudEvent is not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(Malformed))]
    public void Decode_should_turn_malformed_messages_into_a_decode_error_with_the_reason(string body, string? contentType, string? tweak, string reason)
    {
        var routingKey = "booking.created";
        BasicProperties props;
        if (tweak is null)
        {
            props = new BasicProperties { ContentType = contentType };
        }
        else if (tweak.StartsWith("routing=", StringComparison.Ordinal))
        {
            routingKey = tweak["routing=".Length..];
            props = new BasicProperties { ContentType = contentType };
        }
        else
        {
            props = AsReceived(CloudEventsAmqpCodec.Encode(new EventEnvelope(Metadata, Json(body), null, null)));
            var (name, value) = (tweak[..tweak.IndexOf('=')], tweak[(tweak.IndexOf('=') + 1)..]);
            props.Headers!["cloudEvents_" + name] = Encoding.UTF8.GetBytes(value);
        }

        var result = Codec.Decode(routingKey, props, Json(body));

        Assert.Null(result.Envelope);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_should_refuse_a_body_over_the_size_limit_without_parsing_it()
    {
        var small = new CloudEventsAmqpCodec(1024);
        var body = Json("[" + string.Join(",", Enumerable.Repeat("1", 600)) + "]");

        var result = small.Decode("booking.created", new BasicProperties { ContentType = "application/json" }, body);

        Assert.Null(result.Envelope);
        Assert.Contains($"body of {body.Length} bytes is larger than the 1024 bytes", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void Decode_should_report_a_missing_specversion_when_other_CloudEvents_headers_are_there()
    {
        var props = new BasicProperties { Headers = new Dictionary<string, object?> { ["cloudEvents_id"] = "x" } };

        var result = Codec.Decode("booking.created", props, Json("{}"));

        Assert.Contains("lack specversion", result.Error, StringComparison.Ordinal);
    }

    /// <summary>A message as version 0.1.0 wrote it: every attribute as a header, and the native property copies.</summary>
    private static BasicProperties AsVersion010Wrote(EventEnvelope env)
    {
        var m = env.Metadata;
        var headers = new Dictionary<string, object?>
        {
            ["cloudEvents_specversion"] = "1.0",
            ["cloudEvents_id"] = m.Id,
            ["cloudEvents_type"] = m.Name,
            ["cloudEvents_source"] = m.Source,
            ["cloudEvents_time"] = m.Time.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            ["cloudEvents_correlationid"] = m.CorrelationId,
            ["cloudEvents_dataversion"] = m.Version.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (!m.IsChainStart)
        {
            headers["cloudEvents_causationid"] = m.CausationId;
        }

        if (env.TraceParent is not null)
        {
            headers["traceparent"] = env.TraceParent;
        }

        if (env.TraceState is not null)
        {
            headers["tracestate"] = env.TraceState;
        }

        return new BasicProperties
        {
            ContentType = "application/json",
            DeliveryMode = DeliveryModes.Persistent,
            MessageId = m.Id,
            CorrelationId = m.CorrelationId,
            Timestamp = new AmqpTimestamp(m.Time.ToUnixTimeSeconds()),
            Type = m.Name,
            AppId = m.Source,
            Headers = headers,
        };
    }

    public static TheoryData<string> Times => new()
    {
        "2026-11-27T18:30:15.1230000Z", // what FormatTime writes
        "2028-02-29T23:59:59.9999999Z", // a leap day, the last tick of it
        "0001-01-01T00:00:00.0000000Z",
        "9999-12-31T23:59:59.9999999Z",
        "2026-02-29T10:00:00.0000000Z", // no such day
        "2026-13-01T10:00:00.0000000Z", // no such month
        "2026-11-27T24:00:00.0000000Z", // no such hour
        "2026-11-27T18:30:60.0000000Z", // no such second
        "2026-11-27 18:30:15.1230000Z", // no T
        "2026-11-27T18:30:15,1230000Z", // a comma
        "2026-11-27T18:30:15.123000xZ", // not a digit
        "2026-11-27T18:30:15.1230000z", // lower-case z
        "2026-11-27T18:30:15.1230000\u00dc", // not ASCII at the end
        "2026-11-27T18:30:1\u00df.1230000Z", // not ASCII inside
        "2026-11-27T19:30:15.1230000+01:00", // with an offset: the general path
        "2026-11-27T18:30:15Z",
        "2026-11-27T18:30:15.1230000",
        "",
    };

    [Theory]
    [MemberData(nameof(Times))]
    public void TryParseTime_should_read_a_time_exactly_as_the_round_trip_format_parse_does(string text)
    {
        text = System.Text.RegularExpressions.Regex.Unescape(text);
        var expected = DateTimeOffset.TryParseExact(
            text, "O", System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal, out var exact);

        var parsed = CloudEventsAmqpCodec.TryParseTime(text, out var time);

        Assert.Equal(expected, parsed);
        if (expected)
        {
            Assert.Equal(exact, time);
            Assert.Equal(exact.Offset, time.Offset);
        }
    }

    [Fact]
    public void Decode_should_read_the_time_it_wrote_to_the_tick()
    {
        var time = new DateTimeOffset(2026, 11, 27, 18, 30, 15, TimeSpan.Zero).AddTicks(1_234_567);
        var meta = Metadata with { Time = time };
        var props = AsReceived(CloudEventsAmqpCodec.Encode(new EventEnvelope(meta, Json("{}"), null, null)));

        var result = Codec.Decode(meta.Name, props, Json("{}"));

        Assert.Null(result.Error);
        Assert.Equal(time, result.Envelope!.Metadata.Time);
        Assert.Equal(TimeSpan.Zero, result.Envelope.Metadata.Time.Offset);
    }

    [Fact]
    public void KnownText_should_reuse_the_spec_version_and_the_routing_key_only_for_exactly_their_bytes()
    {
        Assert.Same("1.0", CloudEventsAmqpCodec.KnownText(CeAttribute.SpecVersion, "1.0"u8.ToArray(), "booking.created"));
        var key = "booking.created";
        Assert.Same(key, CloudEventsAmqpCodec.KnownText(CeAttribute.Type, "booking.created"u8.ToArray(), key));

        Assert.Null(CloudEventsAmqpCodec.KnownText(CeAttribute.SpecVersion, "1.1"u8.ToArray(), key));
        Assert.Null(CloudEventsAmqpCodec.KnownText(CeAttribute.Type, "booking.create"u8.ToArray(), key));
        Assert.Null(CloudEventsAmqpCodec.KnownText(CeAttribute.Type, "booking.createD"u8.ToArray(), key));
        Assert.Null(CloudEventsAmqpCodec.KnownText(CeAttribute.Type, Encoding.UTF8.GetBytes("booking.créé"), "booking.créé"));
        Assert.Null(CloudEventsAmqpCodec.KnownText(CeAttribute.Type, "booking.created", key)); // a string header is read as it is
        Assert.Null(CloudEventsAmqpCodec.KnownText(CeAttribute.Source, "booking.created"u8.ToArray(), key));
    }

    /// <summary>Headers as the client hands them to a consumer: AMQP long strings arrive as byte arrays.</summary>
    private static BasicProperties AsReceived(BasicProperties sent)
    {
        var copy = new BasicProperties(sent)
        {
            Headers = sent.Headers!.ToDictionary(kv => kv.Key, kv => kv.Value is string s ? (object?)Encoding.UTF8.GetBytes(s) : kv.Value),
        };
        return copy;
    }
}
