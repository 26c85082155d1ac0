/// Members of F# type `option`/`voption` are optional on the wire and in validation: absent or null is None.
module Twyla.Streams.FSharp.Tests.OptionMemberTests

open System.Text.Json
open System.Text.Json.Nodes
open System.Threading.Tasks
open Twyla.Streams
open Twyla.Streams.Events
open Twyla.Streams.FSharp.Tests.Support
open Xunit

type Noted = { Pnr: string; Note: string option }
type Seated = { Pnr: string; Row: int voption }

/// Emits `json` as `note.sent` and returns what a listener of `'T` received.
let private receive<'T> (json: string) = task {
    use fixture = new BusFixture()
    let received = handOver<'T> ()
    let! _ = fixture.ListenAsync<'T>("note.sent", "reader", fun e -> task { received.TrySetResult e.Payload |> ignore })
    do! fixture.Bus.EmitAndConfirmAsync("note.sent", JsonNode.Parse json)
    return! firstOf received }

[<Fact>]
let ``A listener should accept a payload without its option member, as None`` () = task {
    let! noted = receive<Noted> """{"pnr":"O1"}"""
    Assert.Equal({ Pnr = "O1"; Note = None }, noted) }

[<Fact>]
let ``A listener should read a present option member as Some`` () = task {
    let! noted = receive<Noted> """{"pnr":"O1","note":"x"}"""
    Assert.Equal({ Pnr = "O1"; Note = Some "x" }, noted) }

[<Fact>]
let ``A listener should read a null option member as None`` () = task {
    let! noted = receive<Noted> """{"pnr":"O1","note":null}"""
    Assert.Equal({ Pnr = "O1"; Note = None }, noted) }

[<Fact>]
let ``A listener should accept a payload without its voption member, as ValueNone`` () = task {
    let! seated = receive<Seated> """{"pnr":"O1"}"""
    Assert.Equal({ Pnr = "O1"; Row = ValueNone }, seated)
    let! seated = receive<Seated> """{"pnr":"O1","row":12}"""
    Assert.Equal({ Pnr = "O1"; Row = ValueSome 12 }, seated) }

[<Fact>]
let ``A payload without a member that is not an option should still be dead-lettered`` () = task {
    use fixture = new BusFixture()
    let! _ = fixture.ListenAsync<Noted>("note.sent", "reader", fun _ -> task { failwith "an invalid payload reached the handler" })
    do! fixture.Bus.EmitAndConfirmAsync("note.sent", JsonNode.Parse """{"note":"x"}""")
    let! letters = fixture.DeadLettersAsync("note.sent", "reader", 1)
    Assert.Contains("'pnr'", letters.Head.Reason) }

[<Fact>]
let ``The default JSON options should write None as null and read it back`` () =
    for value in [ { Pnr = "O1"; Note = Some "x" }; { Pnr = "O2"; Note = None } ] do
        let json = JsonSerializer.Serialize(value, EventBusSettings.DefaultJsonOptions)
        Assert.Equal(value, JsonSerializer.Deserialize<Noted>(json, EventBusSettings.DefaultJsonOptions) |> nonNull)
