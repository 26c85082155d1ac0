// The confirmer as a pipeline: listen, handle with ack on completion, observed with probes.
namespace Twyla.Samples.Booking.FSharp.Tests

open System
open System.Text.Json.Nodes
open System.Threading.Tasks
open Akka.Streams
open Akka.Streams.Dsl
open Akka.Streams.TestKit
open Akka.TestKit.Xunit2
open Twyla.Streams
open Twyla.Streams.Events
open Twyla.Streams.Hosting.Rpc
open Twyla.Streams.TestKit
open Twyla.Samples.Booking.FSharp.Booking
open Xunit

type ConfirmerPipelineTests() =
    inherit TestKit("akka.test.single-expect-default = 10s") // calls and emits on a loaded machine: 10 s, not 3
    let bus = EventBus.InMemory(EventBusSettings.Create "booking-tests")
    let navitaire = FakeProcedures()
    do navitaire.Serve<GetBooking, BookingDetails>(GetBookingProcedure, fun request _ ->
        if request.Pnr = "A1324B" then Task.FromResult { Pnr = "A1324B"; Passenger = "Ada Lovelace"; Route = "LHR-JFK" }
        else raise (RpcException("booking_not_found", $"navitaire has no booking {request.Pnr}.", 404)))

    interface IAsyncLifetime with
        member _.InitializeAsync() = Task.CompletedTask
        member _.DisposeAsync() = bus.DisposeAsync().AsTask()

    [<Fact>]
    member this.``The confirmer confirms known bookings and dead-letters unknown and invalid ones``() = task {
        use rpc = navitaire.CreateClient()
        let probes = BusProbe(this, bus)
        let! confirmed = probes.EmittedAsync<BookingConfirmed> "booking.confirmed"
        use confirmer = probes.Listener("booking.requested", "confirmer")
        let control =
            bus.Listen<BookingRequested>("booking.requested", "confirmer")
                .To(AckOnCompletion.Sink<BookingRequested>((fun e -> confirm rpc bus e :> Task), AckOnCompletionSettings.Create 4))
                .Run(this.Sys.Materializer())
        do! control.Ready // the consumer is registered: nothing emitted from now on is lost

        let! known = bus.EmitAsync("booking.requested", { BookingRequested.Pnr = "A1324B"; Seats = 2 })
        let! unknown = bus.EmitAsync("booking.requested", { BookingRequested.Pnr = "Z8R4NV"; Seats = 1 })
        let! invalid = bus.EmitAsync("booking.requested", JsonObject.Parse """{"pnr": "BROKEN"}""")

        Assert.Equal(known.Id, confirmed.RequestNext().Metadata.CausationId)
        confirmer.ExpectConsumed(known.Id) |> ignore
        Assert.Equal("booking_not_found: navitaire has no booking Z8R4NV.", confirmer.ExpectDeadLettered(unknown.Id))
        Assert.Contains("missing required properties including: 'seats'", confirmer.ExpectDeadLettered(invalid.Id))
        do! control.DrainAsync()
    }

    [<Fact>]
    member this.``A failing navitaire gets a request tried again, then dead-lettered on its last delivery``() =
        navitaire.Fail(GetBookingProcedure, "maintenance", "navitaire is down for maintenance.", 503)
        use rpc = navitaire.CreateClient()
        let first = TestEvent.Create("booking.requested", { BookingRequested.Pnr = "A1324B"; Seats = 2 })
        let last = first.WithDeliveryCount 5

        let requests, handled =
            this.SourceProbe<Event<BookingRequested>>()
                .Via(AckOnCompletion.Flow<BookingRequested>((fun e -> confirm rpc bus e :> Task), AckOnCompletionSettings.Default))
                .ToMaterialized(this.SinkProbe<HandledEvent>(), fun source sink -> (source, sink))
                .Run(this.Sys.Materializer())
        handled.Request 2L |> ignore
        requests.SendNext first.Event |> ignore
        requests.SendNext last.Event |> ignore

        Assert.Equal<SettleKind>([ SettleKind.Reject; SettleKind.Drop ], handled.ExpectNextN(2L) |> Seq.map (fun h -> h.Settlement))
        Assert.StartsWith("Exception: navitaire-api failed: maintenance", first.ExpectRejected())
        Assert.Equal("handler failed on delivery 5 of 5: Exception: navitaire-api failed: maintenance", last.ExpectDropped())
