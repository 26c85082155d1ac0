// The whole service as its Program configures it, run by the TestKit's host.
namespace Twyla.Samples.Booking.FSharp.Tests

open Akka.TestKit.Xunit2
open Microsoft.Extensions.DependencyInjection
open Twyla.Streams.TestKit
open Twyla.Samples.Booking.FSharp.Booking
open Xunit

type BookingServiceHostTests() =
    inherit TestKit("akka.test.single-expect-default = 10s") // calls and emits on a loaded machine: 10 s, not 3

    [<Fact>]
    member this.``The hosted service confirms a booking and notifies it``() = task {
        let navitaire = FakeProcedures()
        navitaire.Respond(GetBookingProcedure, { BookingDetails.Pnr = "A1324B"; Passenger = "Ada Lovelace"; Route = "LHR-JFK" })
        let! host = TwylaTestHost.StartAsync((fun builder -> configure builder), TwylaTestHostSettings.Default.WithFakeProcedures navitaire)
        use _ = host
        let probes = host.CreateProbe this
        let! confirmed = probes.EmittedAsync<BookingConfirmed> "booking.confirmed"
        use notifier = probes.Listener("booking.confirmed", "notifier")

        let! request = host.Bus.EmitAsync("booking.requested", { BookingRequested.Pnr = "A1324B"; Seats = 2 })

        let confirmation = confirmed.RequestNext()
        Assert.Equal(request.Id, confirmation.Metadata.CausationId)
        notifier.ExpectConsumed(confirmation.Metadata.Id) |> ignore
        Assert.Equal(1, host.Services.GetRequiredService<Summary>().CausedBy(set [ request.Id ]).Length)
    }
