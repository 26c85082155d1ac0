// The booking pipeline of samples/CSharp in idiomatic F#: records, fun lambdas, task { } and |>.
//
//   navitaire-api   serves navitaire-api.get_booking over HTTP (Kestrel, 127.0.0.1)
//   booking         a Generic Host with two Twyla listeners: "confirmer" calls the procedure and emits
//                   booking.confirmed caused by each request; "notifier" prints the confirmations
//
// Events run on the embedded in-memory broker unless Twyla__Amqp__Uri names RabbitMQ. Exits by itself with a
// summary; `-- --serve` keeps both services running until Ctrl+C; `-- --telemetry` exports traces and metrics to
// the console and adds a summary read from the metrics (Telemetry.fs). navitaire-api describes itself: OpenAPI at
// /openapi/v1.json, AsyncAPI at /asyncapi.json.
open System
open System.Collections.Concurrent
open System.Text.Json.Nodes
open System.Threading
open System.Threading.Tasks
open Akka.Actor
open Akka.Hosting
open Akka.Streams
open Akka.Streams.Dsl
open Microsoft.AspNetCore.Builder
open Microsoft.AspNetCore.Hosting
open Microsoft.Extensions.DependencyInjection
open Microsoft.Extensions.Hosting
open Microsoft.Extensions.Logging
open Twyla.Streams
open Twyla.Streams.Contracts
open Twyla.Streams.Emit
open Twyla.Streams.Events
open Twyla.Streams.Hosting
open Twyla.Streams.Hosting.Rpc
open Twyla.Streams.Rpc

open Twyla.Samples.Booking.FSharp.Booking

let navitaire =
    dict [ "A1324B", { BookingDetails.Pnr = "A1324B"; Passenger = "Ada Lovelace"; Route = "LHR-JFK" }
           "K9Q2ZT", { Pnr = "K9Q2ZT"; Passenger = "Grace Hopper"; Route = "SFO-NRT" }
           "M7X0PL", { Pnr = "M7X0PL"; Passenger = "Alan Turing"; Route = "MAN-CDG" }
           "T3ST01", { Pnr = "T3ST01"; Passenger = "Edsger Dijkstra"; Route = "AMS-OSL" } ]

let requests =
    [ { BookingRequested.Pnr = "A1324B"; Seats = 2 }
      { Pnr = "K9Q2ZT"; Seats = 1 }
      { Pnr = "M7X0PL"; Seats = 4 }
      { Pnr = "T3ST01"; Seats = 3 }
      { Pnr = "Z8R4NV"; Seats = 2 } ] // unknown to navitaire: dead-lettered

/// navitaire-api: one procedure on Kestrel.
let startNavitaire () = task {
    let builder = WebApplication.CreateSlimBuilder()
    builder.WebHost.UseUrls "http://127.0.0.1:0" |> ignore
    builder.Logging.SetMinimumLevel LogLevel.Warning |> ignore
    builder.Services.AddRpc builder.Configuration |> ignore
    builder.Services.AddOpenApi() |> ignore
    let api = builder.Build()
    api.MapRpc("get_booking", fun (request: GetBooking) (_: CancellationToken) ->
        task {
            match navitaire.TryGetValue request.Pnr with
            | true, booking -> return booking
            | _ -> return raise (RpcException("booking_not_found", $"navitaire has no booking {request.Pnr}.", 404)) })
    |> ignore
    api.MapOpenApi() |> ignore       // GET /openapi/v1.json: the procedure with its schemas
    api.MapTwylaAsyncApi() |> ignore // GET /asyncapi.json: the service's AsyncAPI document
    do! api.StartAsync()
    return api }

let run (args: string array) = task {
    let serve = args |> Array.contains "--serve"
    let telemetry = Telemetry.SampleTelemetry.FromArgs args
    let! api = startNavitaire ()
    let apiAddress = api.Urls |> Seq.head
    // What navitaire-api says it serves, read as any client tool would.
    use http = new System.Net.Http.HttpClient(BaseAddress = Uri apiAddress)
    let! openApiText = http.GetStringAsync(Uri("/openapi/v1.json", UriKind.Relative))
    let described =
        match JsonNode.Parse openApiText with
        | null -> ""
        | document ->
            match document["paths"] with
            | :? JsonObject as paths -> paths |> Seq.map (fun p -> "POST " + p.Key) |> String.concat ", "
            | _ -> ""

    let builder = Host.CreateApplicationBuilder(args)
    builder.Logging.SetMinimumLevel LogLevel.Warning |> ignore
    builder.Configuration["Twyla:ServiceName"] <- "booking"
    // The transport, chosen explicitly (outside Development, Twyla does not fall back to in-memory by itself).
    builder.Configuration["Twyla:Transport"] <- (if isNull builder.Configuration["Twyla:Amqp:Uri"] then "InMemory" else "RabbitMq")
    builder.Configuration["Twyla:Rpc:Services:navitaire-api"] <- apiAddress
    telemetry |> Option.iter (fun t -> t.AddTo builder.Services)
    configure builder
    use host = builder.Build()
    do! host.StartAsync()

    let bus = host.Services.GetRequiredService<EventBus>()
    printfn "Booking sample (F#): events on %s, navitaire-api on %s" bus.TransportDescription apiAddress

    // Contracts: the confirmer announced what it accepts when its listener started; discover it as any producer would.
    let mutable contracts : DiscoveredContracts option = None
    let discoverUntil = DateTime.UtcNow.AddSeconds 30.
    while contracts.IsNone && DateTime.UtcNow < discoverUntil do
        let! found = bus.DiscoverContractsAsync "booking.requested"
        if found.Groups.Count > 0 then contracts <- Some found else do! Task.Delay 50

    // With the pre-emit check, a request the confirmer would dead-letter (no seats) is refused before it is sent...
    let checking = EmitSettings.Default.WithContractCheck true
    let! refused = task {
        try
            do! bus.EmitAndConfirmAsync(OutgoingEvent.Create("booking.requested", JsonObject.Parse """{"pnr": "UNCHECKED"}"""), checking, CancellationToken.None)
            return "nothing (the check let it through)"
        with :? EmitException as e -> return e.Message }

    // ...without it, it goes out, never reaches the confirmer, and is dead-lettered with the reason.
    let! broken = bus.EmitAsync("booking.requested", JsonObject.Parse """{"pnr": "BROKEN"}""")
    // The requests as a stream: each one's metadata comes out once the broker accepted it.
    let materializer = host.Services.GetRequiredService<ActorSystem>().Materializer()
    let! emitted =
        Source.From(requests)
            .Select(fun request -> OutgoingEvent.Create("booking.requested", request))
            .Via(bus.EmitFlow<BookingRequested>(checking))
            .RunWith(Sink.Seq<EventMetadata>(), materializer)

    // Only this run's events count: on RabbitMQ the dead-letter queue keeps what earlier runs left there.
    let ours = emitted |> Seq.map (fun e -> e.Id) |> Seq.append [ broken.Id ] |> Set.ofSeq
    let summary = host.Services.GetRequiredService<Summary>()
    let deadline = DateTime.UtcNow.AddSeconds 30.
    let mutable deadLetters = List.empty<DeadLetter>
    let mutable finished = false
    while not finished && DateTime.UtcNow < deadline do
        let! dead = bus.PeekDeadLettersAsync("booking.requested", "confirmer")
        deadLetters <- dead |> Seq.filter (fun d -> match d.Metadata with null -> false | m -> ours.Contains m.Id) |> Seq.toList
        finished <- (summary.CausedBy ours).Length >= List.length requests - 1 && deadLetters.Length >= 2
        if not finished then do! Task.Delay 50

    if serve then
        printfn "Serving; Ctrl+C stops (listeners drain first)."
        do! host.WaitForShutdownAsync()
    else
        do! host.StopAsync() // drains the listeners: in-flight events finish and are acked
    do! api.StopAsync()
    let measured = telemetry |> Option.map (fun t -> t.Summarize host.Services) // after the drain: every handler has finished

    printfn ""
    printfn "Summary"
    printfn "  requested:    %d + 1 invalid" (List.length requests)
    let confirmed = summary.CausedBy ours
    printfn "  confirmed:    %d, each in its own correlation chain: %b" confirmed.Length ((confirmed |> List.distinctBy (fun m -> m.CorrelationId)).Length = confirmed.Length)
    printfn "  dead letters: %d" deadLetters.Length
    deadLetters |> List.iter (fun dead -> printfn "    %s: %s" dead.Body dead.Reason)
    let groups = contracts |> Option.map (fun c -> List.ofSeq c.Groups) |> Option.defaultValue []
    printfn "  contracts:    %d group(s) receive booking.requested" groups.Length
    for group in groups do
        let required =
            match group.Schema with
            | null -> [ "anything" ]
            | schema ->
                match schema["required"] with
                | :? JsonArray as names -> names |> Seq.choose (function | null -> None | n -> Some(n.GetValue<string>())) |> List.ofSeq
                | _ -> []
        printfn "    %s/%s on '%s': versions %s, requires %s" group.Service group.Group group.Pattern (String.Join(", ", group.Versions)) (String.Join(", ", required))
    printfn "  checked:      refused before sending: %s" refused
    printfn "  described:    navitaire-api's OpenAPI document lists %s (and /asyncapi.json)" described
    measured |> Option.iter (printfn "%s")
    return if finished && contracts.IsSome then 0 else 1 }

[<EntryPoint>]
let main args = (run args).GetAwaiter().GetResult()
