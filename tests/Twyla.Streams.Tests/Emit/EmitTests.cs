using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Emit;

/// <summary>Emitting on the in-memory bus: metadata, chains, untyped payloads, mandatory emits.</summary>
public sealed class EmitTests : BusTestKit
{
    [Fact]
    public async Task EmitFlow_should_pass_on_the_metadata_of_each_event_in_order()
    {
        await Bus.DeclareGroupAsync("booking.requested", "meta", ListenSettings.Default);
        var before = DateTimeOffset.UtcNow;
        var emitted = await Source.From(Enumerable.Range(0, 50))
            .Select(i => OutgoingEvent.Create("booking.requested", new BookingRequested($"P{i}", i)).WithVersion(2))
            .Via(Bus.EmitFlow<BookingRequested>())
            .RunWith(Sink.Seq<EventMetadata>(), Materializer)
            .WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(50, emitted.Count);
        Assert.All(emitted, m =>
        {
            var id = Guid.Parse(m.Id);
            Assert.Equal(7, id.Version);
            Assert.Equal(m.Id, m.CorrelationId);
            Assert.True(m.IsChainStart);
            Assert.Equal("tests", m.Source);
            Assert.Equal(2, m.Version);
            Assert.Equal(TimeSpan.Zero, m.Time.Offset);
            Assert.InRange(m.Time, before.AddSeconds(-1), DateTimeOffset.UtcNow.AddSeconds(1));
        });
        Assert.Equal(emitted.Select(m => m.Id).Order(StringComparer.Ordinal), emitted.Select(m => m.Id));

        var received = Bus.Listen<BookingRequested>("booking.requested", "meta").RunWith(this.SinkProbe<Event<BookingRequested>>(), Materializer);
        received.Request(50);
        var events = received.ExpectNextN(50);
        Assert.Equal(emitted, events.Select(e => e.Metadata));
        Assert.Equal(Enumerable.Range(0, 50), events.Select(e => e.Payload.Seats));
        received.Cancel();
    }

    [Fact]
    public async Task An_event_derived_from_another_should_carry_the_correlation_id_and_name_its_cause()
    {
        await Bus.DeclareGroupAsync("booking.requested", "confirmer", ListenSettings.Default);
        await Bus.DeclareGroupAsync("booking.confirmed", "notifier", ListenSettings.Default);
        var start = await Bus.EmitAsync("booking.requested", new BookingRequested("AB12", 2));
        Assert.Equal(start.Id, start.CorrelationId);
        Assert.Equal(string.Empty, start.CausationId);

        var confirmer = Bus.Listen<BookingRequested>("booking.requested", "confirmer")
            .Select(e => e.Derive("booking.confirmed", new BookingConfirmed(e.Payload.Pnr)))
            .Take(1)
            .RunWith(Bus.EmitEvents<BookingConfirmed>(), Materializer);
        await confirmer.WaitAsync(TimeSpan.FromSeconds(10));

        var probe = Bus.Listen<BookingConfirmed>("booking.confirmed", "notifier").RunWith(this.SinkProbe<Event<BookingConfirmed>>(), Materializer);
        probe.Request(1);
        var confirmed = probe.ExpectNext();
        Assert.Equal(start.CorrelationId, confirmed.Metadata.CorrelationId);
        Assert.Equal(start.Id, confirmed.Metadata.CausationId);
        Assert.NotEqual(start.Id, confirmed.Metadata.Id);
        Assert.False(confirmed.Metadata.IsChainStart);
        probe.Cancel();
    }

    [Fact]
    public async Task Emit_should_take_untyped_json_payloads()
    {
        await Bus.DeclareGroupAsync("booking.requested", "untyped", ListenSettings.Default);
        var element = JsonDocument.Parse("""{"pnr":"EL01","seats":1}""").RootElement;
        var node = new JsonObject { ["pnr"] = "NO01", ["seats"] = 2 };
        await Source.Single(element).RunWith(Bus.Emit<JsonElement>("booking.requested"), Materializer);
        await Source.Single(node).RunWith(Bus.Emit<JsonObject>("booking.requested"), Materializer);

        var probe = Bus.Listen<JsonElement>("booking.requested", "untyped").RunWith(this.SinkProbe<Event<JsonElement>>(), Materializer);
        probe.Request(2);
        var received = probe.ExpectNextN(2);
        Assert.Equal(["EL01", "NO01"], received.Select(e => e.Payload.GetProperty("pnr").GetString()));
        probe.Cancel();
    }

    [Theory]
    [InlineData("argument")] // what System.Text.Json throws for a string too large to encode
    [InlineData("format")] // what a converter of the user's may throw
    public async Task A_payload_that_cannot_be_serialized_should_fail_with_EmitException_whatever_the_serializer_threw(string kind)
    {
        var payload = new Unwritable(kind);

        var error = await Assert.ThrowsAsync<EmitException>(() => Bus.EmitAsync("booking.unwritable", payload));

        Assert.Contains("could not be serialized", error.Message, StringComparison.Ordinal);
        Assert.Equal(kind == "argument" ? typeof(ArgumentException) : typeof(FormatException), error.InnerException!.GetType());
    }

    [System.Text.Json.Serialization.JsonConverter(typeof(UnwritableConverter))]
    public sealed record Unwritable(string Kind);

    private sealed class UnwritableConverter : System.Text.Json.Serialization.JsonConverter<Unwritable>
    {
        public override Unwritable Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, Unwritable value, JsonSerializerOptions options) =>
            throw (value.Kind == "argument" ? new ArgumentException("too large") : new FormatException("no format for it"));
    }

    [Fact]
    public async Task A_mandatory_emit_of_an_event_nobody_listens_to_should_fail_clearly()
    {
        var sink = Bus.EmitEvents<BookingRequested>(EmitSettings.Default.WithMandatory(true));
        var error = await Assert.ThrowsAsync<EmitException>(() =>
            Source.Single(OutgoingEvent.Create("nobody.listens", new BookingRequested("X", 1))).RunWith(sink, Materializer));
        Assert.Contains("nobody.listens", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Emit_sink_should_complete_only_after_every_event_was_accepted()
    {
        await Bus.DeclareGroupAsync("booking.requested", "counted", ListenSettings.Default);
        await Source.From(Enumerable.Range(0, 300)).Select(i => new BookingRequested($"C{i}", 1))
            .RunWith(Bus.Emit<BookingRequested>("booking.requested", EmitSettings.Default.WithMaxInFlight(16)), Materializer);

        var probe = Bus.Listen<BookingRequested>("booking.requested", "counted", ListenSettings.Default.WithPrefetch(500)).RunWith(this.SinkProbe<Event<BookingRequested>>(), Materializer);
        probe.Request(301);
        Assert.Equal(300, probe.ExpectNextN(300).Count());
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));
        probe.Cancel();
    }

    [Fact]
    public async Task EmitAsync_and_the_Emit_sink_should_both_fail_with_EmitException_after_the_bus_was_disposed()
    {
        var bus = EventBus.InMemory(EventBusSettings.Create("tests"));
        await bus.DisposeAsync();

        var direct = await Assert.ThrowsAsync<EmitException>(() => bus.EmitAsync("booking.requested", new BookingRequested("P1", 1)));
        Assert.IsType<ObjectDisposedException>(direct.InnerException);
        Assert.Contains("booking.requested", direct.Message, StringComparison.Ordinal);

        var streamed = await Assert.ThrowsAsync<EmitException>(() => Source.Single(new BookingRequested("P2", 1))
            .RunWith(bus.Emit<BookingRequested>("booking.requested"), Materializer)
            .WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.IsType<ObjectDisposedException>(streamed.InnerException);
    }
}
