/// F# records with option members through ContractSchema: what the bus writes validates against the exported schema,
/// reads back equal, and the schema neither requires the option member nor refuses its absence or null.
module Twyla.Streams.FSharp.Tests.ContractSchemaTests

open System.Text.Json
open System.Text.Json.Nodes
open Json.Schema
open Twyla.Streams
open Twyla.Streams.Contracts
open Xunit

type Passenger = { Name: string; Email: string option }
type Booking = { Pnr: string; Seats: int; Note: string option; Row: int voption; Lead: Passenger option; Others: Passenger list }

let private options = EventBusSettings.DefaultJsonOptions
let private schemaOf<'T> () = ContractSchema.For(typeof<'T>, options)
let private validates (schema: JsonNode) (json: string) =
    use document = JsonDocument.Parse json
    (JsonSchema.FromText(schema.ToJsonString())).Evaluate(document.RootElement).IsValid

let private child (node: JsonNode) (name: string) = nonNull node[name]

let private required (schema: JsonNode) =
    match schema["required"] with
    | null -> Set.empty
    | names -> names.AsArray() |> Seq.map (fun n -> (nonNull n).GetValue<string>()) |> Set.ofSeq

let private readBooking (json: string) = JsonSerializer.Deserialize<Booking>(json, options) |> nonNull

[<Fact>]
let ``The schema should require the plain members and not the option members`` () =
    let schema = schemaOf<Booking> ()
    Assert.Equal<Set<string>>(Set [ "pnr"; "seats"; "others" ], required schema)
    Assert.Equal<Set<string>>(Set [ "name" ], required (child (child schema "properties") "lead"))

[<Fact>]
let ``Records with option members should round trip through the schema`` () =
    let schema = schemaOf<Booking> ()
    let ada = { Name = "Ada"; Email = Some "ada@example.com" }
    let values =
        [ { Pnr = "A1"; Seats = 2; Note = Some "window"; Row = ValueSome 12; Lead = Some ada; Others = [ { Name = "Bob"; Email = None } ] }
          { Pnr = "A2"; Seats = 1; Note = None; Row = ValueNone; Lead = None; Others = [] } ]
    for value in values do
        let json = JsonSerializer.Serialize(value, options)
        Assert.True(validates schema json, $"the schema refuses what the bus writes: {json}")
        Assert.Equal(value, readBooking json)

[<Fact>]
let ``The schema should accept option members absent or null and refuse other mistakes`` () =
    let schema = schemaOf<Booking> ()
    Assert.True(validates schema """{"pnr":"A1","seats":1,"others":[]}""")
    Assert.True(validates schema """{"pnr":"A1","seats":1,"others":[],"note":null,"row":null,"lead":null}""")
    Assert.True(validates schema """{"pnr":"A1","seats":1,"others":[],"lead":{"name":"Ada"}}""")
    Assert.False(validates schema """{"seats":1,"others":[]}""") // pnr is required
    Assert.False(validates schema """{"pnr":"A1","seats":1,"others":[],"note":5}""") // a note is a string
    Assert.False(validates schema """{"pnr":"A1","seats":1,"others":[],"lead":{"email":"x"}}""") // a passenger needs a name

[<Fact>]
let ``What the schema accepts the bus reads`` () =
    let schema = schemaOf<Booking> ()
    for json in [ """{"pnr":"A1","seats":1,"others":[]}"""; """{"pnr":"A1","seats":1,"others":[],"note":null,"row":null,"lead":null}""" ] do
        Assert.True(validates schema json)
        let booking = readBooking json
        Assert.Equal({ Pnr = "A1"; Seats = 1; Note = None; Row = ValueNone; Lead = None; Others = [] }, booking)
