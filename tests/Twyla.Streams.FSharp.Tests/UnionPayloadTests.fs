/// F# unions as payloads: System.Text.Json refuses them, FSharp.SystemTextJson reads and writes them. The library does
/// not depend on FSharp.Core, so a service plugs the converter into the bus's JSON options (docs/fsharp.md).
module Twyla.Streams.FSharp.Tests.UnionPayloadTests

open System
open System.Text.Json
open System.Text.Json.Serialization
open System.Threading.Tasks
open Twyla.Streams
open Twyla.Streams.Emit
open Twyla.Streams.Events
open Twyla.Streams.FSharp.Tests.Support
open Xunit

type Seat = { Row: int; Letter: string }

type BookingChanged =
    | Created of pnr: string * seats: int
    | SeatChosen of pnr: string * seat: Seat
    | Cancelled of pnr: string

type Booked = { Pnr: string; Change: BookingChanged; Note: string option }

/// The bus's default options plus FSharp.SystemTextJson, as docs/fsharp.md shows it.
let unionSettings () =
    let json = JsonSerializerOptions EventBusSettings.DefaultJsonOptions // a copy: camelCase, strict, option members optional
    json.Converters.Add(JsonFSharpConverter())
    EventBusSettings.Create("fsharp-tests").WithJsonOptions json

[<Fact>]
let ``Without a converter an F# union is refused at emit`` () = task {
    use fixture = new BusFixture()
    let! error = Assert.ThrowsAsync<EmitException>(fun () -> fixture.Bus.EmitAsync("booking.changed", Cancelled "A1") :> Task)
    Assert.Contains("union", error.Message) }

[<Fact>]
let ``With FSharp.SystemTextJson in the bus's JSON options unions should round trip through the bus`` () = task {
    use fixture = new BusFixture(unionSettings ())
    let received = Collections.Concurrent.ConcurrentQueue<BookingChanged>()
    let all = handOver<unit> ()
    let changes = [ Created("A1", 2); SeatChosen("A1", { Row = 12; Letter = "A" }); Cancelled "A1" ]
    let! _ = fixture.ListenAsync<BookingChanged>("booking.changed", "audit", fun e -> task {
        received.Enqueue e.Payload
        if received.Count = changes.Length then all.TrySetResult() |> ignore })
    for change in changes do
        do! fixture.Bus.EmitAndConfirmAsync("booking.changed", change)
    do! all.Task.WaitAsync hang
    Assert.Equal<BookingChanged list>(changes, List.ofSeq received) }

[<Fact>]
let ``With FSharp.SystemTextJson a record holding a union keeps its option member optional`` () = task {
    use fixture = new BusFixture(unionSettings ())
    let received = handOver<Booked> ()
    let! _ = fixture.ListenAsync<Booked>("booking.booked", "audit", fun e -> task { received.TrySetResult e.Payload |> ignore })
    do! fixture.Bus.EmitAndConfirmAsync("booking.booked", Nodes.JsonNode.Parse """{"pnr":"A1","change":{"Case":"Cancelled","Fields":["A1"]}}""")
    let! booked = firstOf received
    Assert.Equal({ Pnr = "A1"; Change = Cancelled "A1"; Note = None }, booked) }
