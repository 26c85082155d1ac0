using Akka.TestKit.Xunit2;
using Twyla.Streams;
using Twyla.Streams.Rpc;
using Twyla.Streams.TestKit;
using Xunit;

namespace Twyla.Samples.Booking.Tests;

/// <summary>The confirmer's handler, unit-tested: a hand-built event, navitaire-api faked, the bus in memory.</summary>
public sealed class ConfirmerTests : TestKit, IAsyncLifetime
{
    /// <summary>Expectations wait up to 10 s (the TestKit's default is 3 s): calls and emits on a loaded machine.</summary>
    public ConfirmerTests()
        : base("akka.test.single-expect-default = 10s")
    {
    }

    private readonly EventBus _bus = EventBus.InMemory(EventBusSettings.Create("booking-tests"));
    private readonly FakeProcedures _navitaire = new();

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _bus.DisposeAsync();

    [Fact]
    public async Task A_known_booking_should_be_confirmed_in_the_request_s_chain()
    {
        _navitaire.Respond(BookingService.GetBookingProcedure, new BookingDetails("A1324B", "Ada Lovelace", "LHR-JFK"));
        using var rpc = _navitaire.CreateClient();
        var confirmed = await new BusProbe(this, _bus).EmittedAsync<BookingConfirmed>("booking.confirmed");
        var request = TestEvent.Create("booking.requested", new BookingRequested("A1324B", 2));

        await BookingService.ConfirmAsync(rpc, _bus, request.Event);

        var confirmation = confirmed.RequestNext();
        Assert.Equal(new BookingConfirmed("A1324B", "Ada Lovelace", "LHR-JFK", 2), confirmation.Payload);
        Assert.Equal(request.Metadata.Id, confirmation.Metadata.CausationId);
        Assert.Equal(request.Metadata.CorrelationId, confirmation.Metadata.CorrelationId);
        Assert.Equal("""{"pnr":"A1324B"}""", Assert.Single(_navitaire.Calls).Body);
        request.ExpectNotSettled(); // the listener's ack on completion acks it
    }

    [Fact]
    public async Task An_unknown_booking_should_be_dropped_with_navitaire_s_reason()
    {
        _navitaire.Fail(BookingService.GetBookingProcedure, "booking_not_found", "navitaire has no booking Z8R4NV.", 404);
        using var rpc = _navitaire.CreateClient();
        var request = TestEvent.Create("booking.requested", new BookingRequested("Z8R4NV", 2));

        await BookingService.ConfirmAsync(rpc, _bus, request.Event);

        Assert.Equal("booking_not_found: navitaire has no booking Z8R4NV.", request.ExpectDropped());
    }

    [Fact]
    public async Task A_failing_navitaire_should_fail_the_handler_so_the_request_is_tried_again()
    {
        _navitaire.Fail(BookingService.GetBookingProcedure, "maintenance", "navitaire is down for maintenance.", 503);
        using var rpc = _navitaire.CreateClient();
        var request = TestEvent.Create("booking.requested", new BookingRequested("A1324B", 2));

        var failure = await Assert.ThrowsAsync<InvalidOperationException>(() => BookingService.ConfirmAsync(rpc, _bus, request.Event));

        Assert.Equal("navitaire-api failed: maintenance", failure.Message);
        request.ExpectNotSettled();
    }

    [Fact]
    public async Task A_navitaire_that_does_not_answer_should_time_the_handler_out()
    {
        _navitaire.NoAnswer(BookingService.GetBookingProcedure);
        using var rpc = _navitaire.CreateClient(
            RpcClientSettings.Create().WithCallDefaults(RpcCallSettings.Create().WithTimeout(TimeSpan.FromMilliseconds(300))));
        var request = TestEvent.Create("booking.requested", new BookingRequested("A1324B", 2));

        var timeout = await Assert.ThrowsAsync<TimeoutException>(() => BookingService.ConfirmAsync(rpc, _bus, request.Event));

        Assert.StartsWith("navitaire-api did not answer within", timeout.Message, StringComparison.Ordinal);
    }
}
