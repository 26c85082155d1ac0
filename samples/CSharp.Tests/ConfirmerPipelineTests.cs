using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Akka.TestKit.Xunit2;
using Twyla.Streams;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.TestKit;
using Xunit;

namespace Twyla.Samples.Booking.Tests;

/// <summary>The confirmer as a pipeline: listen, handle with ack on completion, observed with probes.</summary>
public sealed class ConfirmerPipelineTests : TestKit, IAsyncLifetime
{
    private readonly EventBus _bus = EventBus.InMemory(EventBusSettings.Create("booking-tests"));
    private readonly FakeProcedures _navitaire = new();

    /// <summary>Expectations wait up to 10 s (the TestKit's default is 3 s): calls and emits on a loaded machine.</summary>
    public ConfirmerPipelineTests()
        : base("akka.test.single-expect-default = 10s")
    {
        _navitaire.Serve<GetBooking, BookingDetails>(BookingService.GetBookingProcedure, (request, _) =>
            request.Pnr == "A1324B"
                ? Task.FromResult(new BookingDetails("A1324B", "Ada Lovelace", "LHR-JFK"))
                : throw new RpcException("booking_not_found", $"navitaire has no booking {request.Pnr}.", 404));
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _bus.DisposeAsync();

    [Fact]
    public async Task The_confirmer_should_confirm_known_bookings_and_dead_letter_unknown_and_invalid_ones()
    {
        using var rpc = _navitaire.CreateClient();
        var probes = new BusProbe(this, _bus);
        var confirmed = await probes.EmittedAsync<BookingConfirmed>("booking.confirmed");
        using var confirmer = probes.Listener("booking.requested", "confirmer");
        var control = _bus.Listen<BookingRequested>("booking.requested", "confirmer")
            .To(AckOnCompletion.Sink<BookingRequested>(e => BookingService.ConfirmAsync(rpc, _bus, e), AckOnCompletionSettings.Create(4)))
            .Run(Sys.Materializer());
        await control.Ready; // the consumer is registered: nothing emitted from now on is lost

        var known = await _bus.EmitAsync("booking.requested", new BookingRequested("A1324B", 2));
        var unknown = await _bus.EmitAsync("booking.requested", new BookingRequested("Z8R4NV", 1));
        var invalid = await _bus.EmitAsync("booking.requested", new { pnr = "BROKEN" });

        Assert.Equal(known.Id, confirmed.RequestNext().Metadata.CausationId);
        confirmer.ExpectConsumed(known.Id);
        Assert.Equal("booking_not_found: navitaire has no booking Z8R4NV.", confirmer.ExpectDeadLettered(unknown.Id));
        Assert.Contains("missing required properties including: 'seats'", confirmer.ExpectDeadLettered(invalid.Id), StringComparison.Ordinal);
        await control.DrainAsync();
    }

    [Fact]
    public void A_failing_navitaire_should_get_a_request_tried_again_then_dead_lettered_on_its_last_delivery()
    {
        _navitaire.Fail(BookingService.GetBookingProcedure, "maintenance", "navitaire is down for maintenance.", 503);
        using var rpc = _navitaire.CreateClient();
        var first = TestEvent.Create("booking.requested", new BookingRequested("A1324B", 2));
        var last = first.WithDeliveryCount(5);

        var (requests, handled) = this.SourceProbe<Event<BookingRequested>>()
            .Via(AckOnCompletion.Flow<BookingRequested>(e => BookingService.ConfirmAsync(rpc, _bus, e), AckOnCompletionSettings.Default))
            .ToMaterialized(this.SinkProbe<HandledEvent>(), Keep.Both)
            .Run(Sys.Materializer());
        handled.Request(2);
        requests.SendNext(first.Event);
        requests.SendNext(last.Event);

        Assert.Equal(new[] { SettleKind.Reject, SettleKind.Drop }, handled.ExpectNextN(2).Select(h => h.Settlement));
        Assert.Equal("InvalidOperationException: navitaire-api failed: maintenance", first.ExpectRejected());
        Assert.Equal("handler failed on delivery 5 of 5: InvalidOperationException: navitaire-api failed: maintenance", last.ExpectDropped());
    }
}
