using System.Text;
using System.Text.Json;
using CloudNative.CloudEvents;
using CloudNative.CloudEvents.SystemTextJson;
using RabbitMQ.Client;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.IntegrationTests.Transport.RabbitMq;

public class RabbitMqWireFormatTests
{
    [Fact]
    public async Task Published_events_should_arrive_with_payload_and_all_metadata_intact()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var topology = TestEvents.Topology("booking.created");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 10, probe, default);
        await using var publisher = await transport.OpenPublisherAsync(default);
        var sent = new EventEnvelope(
            new EventMetadata(Guid.CreateVersion7().ToString(), "booking.created", "corr-1", "cause-1",
                new DateTimeOffset(2026, 11, 27, 18, 0, 1, 234, TimeSpan.Zero).AddTicks(5678), "booking-api", 4),
            Encoding.UTF8.GetBytes("{\"bookingId\":\"B-1\",\"seats\":2,\"name\":\"Zoë\"}"),
            "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "vendor=abc");

        await publisher.PublishAsync(sent, mandatory: true, default);
        var got = await probe.NextAsync();

        Assert.Null(got.DecodeError);
        Assert.Equal(sent.Metadata, got.Envelope!.Metadata);
        Assert.Equal("{\"bookingId\":\"B-1\",\"seats\":2,\"name\":\"Zoë\"}", got.Text());
        Assert.Equal(sent.TraceParent, got.Envelope.TraceParent);
        Assert.Equal(sent.TraceState, got.Envelope.TraceState);
        Assert.Equal(("booking.created", false, 1), (got.RoutingKey, got.Redelivered, got.DeliveryCount));
        await consumer.AckAsync(got.Tag, false, default);
    }

    [Fact]
    public async Task Published_events_should_be_binary_mode_CloudEvents_headers_without_native_copies_on_the_wire()
    {
        var settings = Broker.Settings();
        await using var transport = new RabbitMqTransport(settings);
        var topology = TestEvents.Topology("booking.created");
        await transport.DeclareListenerAsync(topology, default);
        await using var publisher = await transport.OpenPublisherAsync(default);
        var sent = TestEvents.Envelope("booking.created", "{\"bookingId\":\"B-2\"}", causedBy: "e-0");

        await publisher.PublishAsync(sent, mandatory: false, default);

        var msg = await RawGetAsync(topology.QueueName);
        var p = msg.BasicProperties;
        Assert.Equal("application/json", p.ContentType);
        Assert.Equal(DeliveryModes.Persistent, p.DeliveryMode);
        Assert.Equal(
            (false, false, false, false, false),
            (p.IsMessageIdPresent(), p.IsCorrelationIdPresent(), p.IsTimestampPresent(), p.IsTypePresent(), p.IsAppIdPresent()));
        Assert.Equal("{\"bookingId\":\"B-2\"}", Encoding.UTF8.GetString(msg.Body.Span));
        var h = Headers(p);
        Assert.Equal("1.0", h["cloudEvents_specversion"]);
        Assert.Equal(sent.Metadata.Id, h["cloudEvents_id"]);
        Assert.Equal("booking.created", h["cloudEvents_type"]);
        Assert.Equal("integration-tests", h["cloudEvents_source"]);
        Assert.Equal("corr-e-0", h["cloudEvents_correlationid"]);
        Assert.Equal("e-0", h["cloudEvents_causationid"]);
        Assert.Equal(sent.Metadata.Time, DateTimeOffset.Parse(h["cloudEvents_time"], System.Globalization.CultureInfo.InvariantCulture));
        // No cloudEvents_dataversion: version 1, which every reader assumes when absent.
        Assert.Equal(
            ["cloudEvents_causationid", "cloudEvents_correlationid", "cloudEvents_id", "cloudEvents_source", "cloudEvents_specversion", "cloudEvents_time", "cloudEvents_type"],
            h.Keys.Where(k => k.StartsWith("cloudEvents", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
    }

    /// <summary>
    /// The CloudEvents SDK's AMQP binding (CloudNative.CloudEvents.Amqp) targets AMQP 1.0 (AMQPNetLite) and is not
    /// available here, so the test does what a binding does: it maps the <c>cloudEvents_</c> headers to attributes
    /// through the SDK, which validates each (types, required attributes, extension names), then round-trips the
    /// event through the SDK's JSON formatter.
    /// </summary>
    [Fact]
    public async Task Published_events_should_be_valid_CloudEvents_1_0_for_the_CloudEvents_SDK()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var topology = TestEvents.Topology("booking.created");
        await transport.DeclareListenerAsync(topology, default);
        await using var publisher = await transport.OpenPublisherAsync(default);
        var sent = TestEvents.Envelope("booking.created", "{\"bookingId\":\"B-3\",\"seats\":3}", causedBy: "e-1") with
        {
            TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        };
        await publisher.PublishAsync(sent, mandatory: false, default);
        var msg = await RawGetAsync(topology.QueueName);

        var headers = Headers(msg.BasicProperties);
        Assert.Equal("1.0", headers["cloudEvents_specversion"]);
        var version = CloudEventsSpecVersion.FromVersionId(headers["cloudEvents_specversion"])!;
        var cloudEvent = new CloudEvent(version);
        foreach (var (name, value) in headers.Where(kv => kv.Key.StartsWith("cloudEvents_", StringComparison.Ordinal)))
        {
            var attribute = name["cloudEvents_".Length..];
            if (attribute != "specversion")
            {
                cloudEvent.SetAttributeFromString(attribute, value);
            }
        }

        cloudEvent.SetAttributeFromString("traceparent", headers["traceparent"]);
        cloudEvent.DataContentType = msg.BasicProperties.ContentType;
        cloudEvent.Data = JsonDocument.Parse(msg.Body).RootElement.Clone();

        Assert.True(cloudEvent.IsValid);
        Assert.Equal(sent.Metadata.Id, cloudEvent.Id);
        Assert.Equal("booking.created", cloudEvent.Type);
        Assert.Equal(new Uri("integration-tests", UriKind.RelativeOrAbsolute), cloudEvent.Source);
        Assert.Equal(sent.Metadata.Time, cloudEvent.Time);
        Assert.Equal("e-1", cloudEvent["causationid"]);

        // The SDK's structured JSON encoding of it reads back through our structured-mode decoder.
        var formatter = new JsonEventFormatter();
        var structured = formatter.EncodeStructuredModeMessage(cloudEvent, out var contentType);
        var decoded = new CloudEventsAmqpCodec(1 << 20).Decode(
            "booking.created", new BasicProperties { ContentType = contentType.ToString() }, structured.ToArray());
        Assert.Null(decoded.Error);
        Assert.Equal(sent.Metadata, decoded.Envelope!.Metadata);
        Assert.Equal("{\"bookingId\":\"B-3\",\"seats\":3}", Encoding.UTF8.GetString(decoded.Envelope.Data.Span));
    }

    [Fact]
    public async Task A_structured_mode_message_from_a_plain_client_should_be_received()
    {
        var settings = Broker.Settings();
        await using var transport = new RabbitMqTransport(settings);
        var topology = TestEvents.Topology("booking.created");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 10, probe, default);
        var cloudEvent = new CloudEvent
        {
            Id = "legacy-42",
            Type = "booking.created",
            Source = new Uri("urn:legacy-booking"),
            Time = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
            DataContentType = "application/json",
            Data = JsonDocument.Parse("{\"bookingId\":\"L-1\"}").RootElement,
        };
        cloudEvent["correlationid"] = "chain-7";
        var body = new JsonEventFormatter().EncodeStructuredModeMessage(cloudEvent, out var contentType);

        await PublishRawAsync(settings.Exchange, "booking.created", new BasicProperties { ContentType = contentType.ToString() }, body);

        var got = await probe.NextAsync();
        Assert.Null(got.DecodeError);
        var m = got.Envelope!.Metadata;
        Assert.Equal(("legacy-42", "booking.created", "urn:legacy-booking", "chain-7"), (m.Id, m.Name, m.Source, m.CorrelationId));
        Assert.Equal(cloudEvent.Time, m.Time);
        Assert.Equal("{\"bookingId\":\"L-1\"}", got.Text());
    }

    [Fact]
    public async Task A_plain_JSON_message_with_no_CloudEvents_headers_should_be_received_named_by_its_routing_key()
    {
        var settings = Broker.Settings();
        await using var transport = new RabbitMqTransport(settings);
        var topology = TestEvents.Topology("booking.*");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 10, probe, default);

        await PublishRawAsync(settings.Exchange, "booking.updated", new BasicProperties(), "{\"bookingId\":\"P-1\"}"u8.ToArray());

        var got = await probe.NextAsync();
        Assert.Null(got.DecodeError);
        var m = got.Envelope!.Metadata;
        Assert.Equal("booking.updated", m.Name);
        Assert.Equal(m.Id, m.CorrelationId);
        Assert.True(m.IsChainStart);
        Assert.Equal("{\"bookingId\":\"P-1\"}", got.Text());
    }

    [Fact]
    public async Task A_binary_mode_event_whose_headers_are_AMQP_byte_arrays_should_be_received_as_sent()
    {
        var settings = Broker.Settings();
        await using var transport = new RabbitMqTransport(settings);
        var topology = TestEvents.Topology("booking.created");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 10, probe, default);

        // As Python's pika publishes a bytes value: AMQP field type 'x' (a byte array), not a long string.
        static BinaryTableValue Bytes(string s) => new(Encoding.UTF8.GetBytes(s));
        var props = new BasicProperties
        {
            ContentType = "application/json",
            Headers = new Dictionary<string, object?>
            {
                ["cloudEvents_specversion"] = Bytes("1.0"),
                ["cloudEvents_id"] = Bytes("py-1"),
                ["cloudEvents_type"] = Bytes("booking.created"),
                ["cloudEvents_source"] = Bytes("python-service"),
                ["cloudEvents_time"] = Bytes("2026-11-27T18:30:15Z"),
                ["cloudEvents_correlationid"] = Bytes("chain-1"),
            },
        };
        await PublishRawAsync(settings.Exchange, "booking.created", props, "{\"bookingId\":\"Y-1\"}"u8.ToArray());

        var got = await probe.NextAsync();
        Assert.Null(got.DecodeError);
        var m = got.Envelope!.Metadata;
        Assert.Equal(("py-1", "booking.created", "python-service", "chain-1"), (m.Id, m.Name, m.Source, m.CorrelationId));
        Assert.Equal(new DateTimeOffset(2026, 11, 27, 18, 30, 15, TimeSpan.Zero), m.Time);
    }

    [Fact]
    public async Task Events_with_a_foreign_attribute_value_or_a_type_other_than_their_routing_key_should_arrive_as_decode_errors_naming_why()
    {
        var settings = Broker.Settings();
        await using var transport = new RabbitMqTransport(settings);
        var topology = TestEvents.Topology("booking.*");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 10, probe, default);
        var valid = CloudEventsAmqpCodec.Encode(TestEvents.Envelope("booking.created", "{}"));

        var tableId = WithHeader(valid, "cloudEvents_id", new Dictionary<string, object?> { ["n"] = 1 });
        await PublishRawAsync(settings.Exchange, "booking.created", tableId, "{}"u8.ToArray());
        await PublishRawAsync(settings.Exchange, "booking.cancelled", valid, "{}"u8.ToArray());

        var (first, second) = (await probe.NextAsync(), await probe.NextAsync());
        Assert.Equal("the header 'cloudEvents_id' holds a table where text is expected", first.DecodeError);
        Assert.Equal(
            "the CloudEvents type 'booking.created' does not match routing key 'booking.cancelled' it was published with",
            second.DecodeError);
    }

    [Fact]
    public async Task A_foreign_event_with_its_own_x_twyla_routing_key_header_should_be_named_by_the_key_it_was_published_with()
    {
        // Only copies of ours (retries, requeues, dead letters: through the group's router) carry a trusted
        // x-twyla-routing-key; a foreign publisher's header of that name was once taken for the real key, and a
        // valid event was dead-lettered as "does not match routing key".
        var settings = Broker.Settings();
        await using var transport = new RabbitMqTransport(settings);
        var topology = TestEvents.Topology("booking.*");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 10, probe, default);
        var valid = CloudEventsAmqpCodec.Encode(TestEvents.Envelope("booking.created", "{}"));
        var forged = WithHeader(valid, CloudEventsAmqpCodec.RoutingKeyHeader, Encoding.UTF8.GetBytes("other.thing"));
        var plain = WithHeader(new BasicProperties(), CloudEventsAmqpCodec.RoutingKeyHeader, Encoding.UTF8.GetBytes("other.thing"));

        await PublishRawAsync(settings.Exchange, "booking.created", forged, "{}"u8.ToArray());
        await PublishRawAsync(settings.Exchange, "booking.updated", plain, "{}"u8.ToArray());

        var (first, second) = (await probe.NextAsync(), await probe.NextAsync());
        Assert.Null(first.DecodeError);
        Assert.Equal("booking.created", first.Envelope!.Metadata.Name);
        Assert.Null(second.DecodeError);
        Assert.Equal("booking.updated", second.Envelope!.Metadata.Name);

        // Our own copy (a retry comes back through the group's router with the key 'requeue') keeps the real key.
        await first.Handle.RejectAsync(TimeSpan.Zero, "retry it", default);
        var retried = await probe.NextAsync();
        Assert.Null(retried.DecodeError);
        Assert.Equal((first.Envelope.Metadata.Id, "booking.created"), (retried.Envelope!.Metadata.Id, retried.Envelope.Metadata.Name));
    }

    [Fact]
    public async Task A_plain_message_without_message_id_should_have_the_same_id_and_time_on_every_delivery()
    {
        var settings = Broker.Settings();
        await using var transport = new RabbitMqTransport(settings);
        var topology = TestEvents.Topology("booking.created");
        await transport.DeclareListenerAsync(topology, default);
        await PublishRawAsync(settings.Exchange, "booking.created", new BasicProperties { Timestamp = new AmqpTimestamp(1_800_000_000) }, "{\"bookingId\":\"P-2\"}"u8.ToArray());

        var firstProbe = new DeliveryProbe();
        var firstConsumer = await transport.StartConsumerAsync(topology, 10, firstProbe, default);
        var first = await firstProbe.NextAsync();
        await firstConsumer.DisposeAsync(); // unacked: the broker delivers it again
        var againProbe = new DeliveryProbe();
        await using var againConsumer = await transport.StartConsumerAsync(topology, 10, againProbe, default);
        var again = await againProbe.NextAsync();

        Assert.True(again.Redelivered);
        Assert.Equal(first.Envelope!.Metadata, again.Envelope!.Metadata);
        Assert.Equal(DateTimeOffset.FromUnixTimeSeconds(1_800_000_000), again.Envelope.Metadata.Time);
        await againConsumer.AckAsync(again.Tag, false, default);
    }

    /// <summary>Publishes as a service not using Twyla.Streams would, with RabbitMQ.Client.</summary>
    private static async Task PublishRawAsync(string exchange, string routingKey, BasicProperties props, ReadOnlyMemory<byte> body)
    {
        await using var raw = await Broker.RawConnectionAsync();
        await using var ch = await raw.CreateChannelAsync();
        await ch.BasicPublishAsync(exchange, routingKey, false, props, body);
    }

    private static async Task<BasicGetResult> RawGetAsync(string queue)
    {
        await using var raw = await Broker.RawConnectionAsync();
        await using var ch = await raw.CreateChannelAsync();
        var msg = await ch.BasicGetAsync(queue, autoAck: true);
        Assert.NotNull(msg);
        return msg;
    }

    private static Dictionary<string, string> Headers(IReadOnlyBasicProperties p) =>
        p.Headers!.ToDictionary(kv => kv.Key, kv => kv.Value is byte[] b ? Encoding.UTF8.GetString(b) : kv.Value?.ToString() ?? "");

    /// <summary>A copy of <paramref name="properties"/> with one header set (the original's headers kept).</summary>
    private static BasicProperties WithHeader(IReadOnlyBasicProperties properties, string name, object value) =>
        new(properties)
        {
            Headers = new Dictionary<string, object?>(properties.Headers ?? new Dictionary<string, object?>()) { [name] = value },
        };
}
