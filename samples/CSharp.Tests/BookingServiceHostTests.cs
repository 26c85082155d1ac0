using Akka.TestKit.Xunit2;
using Microsoft.Extensions.DependencyInjection;
using Twyla.Streams.TestKit;
using Xunit;

namespace Twyla.Samples.Booking.Tests;

/// <summary>The whole service as its Program configures it, run by the TestKit's host.</summary>
public sealed class BookingServiceHostTests : TestKit
{
    /// <summary>Expectations wait up to 10 s (the TestKit's default is 3 s): calls and emits on a loaded machine.</summary>
    public BookingServiceHostTests()
        : base("akka.test.single-expect-default = 10s")
    {
    }

    [Fact]
    public async Task The_hosted_service_should_confirm_a_booking_and_notify_it()
    {
        var navitaire = new FakeProcedures();
        navitaire.Respond(BookingService.GetBookingProcedure, new BookingDetails("A1324B", "Ada Lovelace", "LHR-JFK"));
        await using var host = await TwylaTestHost.StartAsync(BookingService.Configure, TwylaTestHostSettings.Default.WithFakeProcedures(navitaire));
        var probes = host.CreateProbe(this);
        var confirmed = await probes.EmittedAsync<BookingConfirmed>("booking.confirmed");
        using var notifier = probes.Listener("booking.confirmed", "notifier");

        var request = await host.Bus.EmitAsync("booking.requested", new BookingRequested("A1324B", 2));

        var confirmation = confirmed.RequestNext();
        Assert.Equal(request.Id, confirmation.Metadata.CausationId);
        notifier.ExpectConsumed(confirmation.Metadata.Id);
        Assert.Equal(1, host.Services.GetRequiredService<Summary>().CausedBy(new HashSet<string> { request.Id }));
    }
}
