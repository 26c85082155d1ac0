// The confirmer's handler, unit-tested: a hand-built event, navitaire-api faked, the bus in memory.
namespace Twyla.Samples.Booking.FSharp.Tests

open System
open System.Threading.Tasks
open Akka.TestKit.Xunit2
open Twyla.Streams
open Twyla.Streams.Rpc
open Twyla.Streams.TestKit
open Twyla.Samples.Booking.FSharp.Booking
open Xunit

type ConfirmerTests() =
    inherit TestKit("akka.test.single-expect-default = 10s") // calls and emits on a loaded machine: 10 s, not 3
    let bus = EventBus.InMemory(EventBusSettings.Create "booking-tests")
    let navitaire = FakeProcedures()
    let ada = { BookingDetails.Pnr = "A1324B"; Passenger = "Ada Lovelace"; Route = "LHR-JFK" }

    interface IAsyncLifetime with
        member _.InitializeAsync() = Task.CompletedTask
        member _.DisposeAsync() = bus.DisposeAsync().AsTask()

    [<Fact>]
    member this.``A known booking is confirmed in the request's chain``() = task {
        navitaire.Respond(GetBookingProcedure, ada)
        use rpc = navitaire.CreateClient()
        let! confirmed = BusProbe(this, bus).EmittedAsync<BookingConfirmed> "booking.confirmed"
        let request = TestEvent.Create("booking.requested", { BookingRequested.Pnr = "A1324B"; Seats = 2 })

        do! confirm rpc bus request.Event

        let confirmation = confirmed.RequestNext()
        Assert.Equal({ Pnr = "A1324B"; Passenger = "Ada Lovelace"; Route = "LHR-JFK"; Seats = 2 }, confirmation.Payload)
        Assert.Equal(request.Metadata.Id, confirmation.Metadata.CausationId)
        request.ExpectNotSettled() // the listener's ack on completion acks it
    }

    [<Fact>]
    member _.``An unknown booking is dropped with navitaire's reason``() = task {
        navitaire.Fail(GetBookingProcedure, "booking_not_found", "navitaire has no booking Z8R4NV.", 404)
        use rpc = navitaire.CreateClient()
        let request = TestEvent.Create("booking.requested", { BookingRequested.Pnr = "Z8R4NV"; Seats = 2 })

        do! confirm rpc bus request.Event

        Assert.Equal("booking_not_found: navitaire has no booking Z8R4NV.", request.ExpectDropped())
    }

    [<Fact>]
    member _.``A failing navitaire fails the handler so the request is tried again``() = task {
        navitaire.Fail(GetBookingProcedure, "maintenance", "navitaire is down for maintenance.", 503)
        use rpc = navitaire.CreateClient()
        let request = TestEvent.Create("booking.requested", { BookingRequested.Pnr = "A1324B"; Seats = 2 })

        let! failure = Assert.ThrowsAsync<Exception>(fun () -> confirm rpc bus request.Event :> Task)

        Assert.Equal("navitaire-api failed: maintenance", failure.Message)
        request.ExpectNotSettled()
    }

    [<Fact>]
    member _.``A navitaire that does not answer times the handler out``() = task {
        navitaire.NoAnswer GetBookingProcedure
        let settings = RpcClientSettings.Create().WithCallDefaults(RpcCallSettings.Create().WithTimeout(TimeSpan.FromMilliseconds 300.))
        use rpc = navitaire.CreateClient settings
        let request = TestEvent.Create("booking.requested", { BookingRequested.Pnr = "A1324B"; Seats = 2 })

        let! timeout = Assert.ThrowsAsync<Exception>(fun () -> confirm rpc bus request.Event :> Task)

        Assert.StartsWith("navitaire-api did not answer within", timeout.Message)
    }
