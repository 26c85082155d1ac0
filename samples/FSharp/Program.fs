// The booking pipeline of samples/CSharp in idiomatic F#: records, fun lambdas, task { } and |>.
// Runs on the embedded in-memory broker unless Twyla__Amqp__Uri names a RabbitMQ broker. Exits by itself.
open System
open System.Collections.Concurrent
open System.Text.Json.Nodes
open System.Threading.Tasks
open Akka.Actor
open Akka.Streams
open Akka.Streams.Dsl
open Twyla.Streams
open Twyla.Streams.Events
open Twyla.Streams.Transport.RabbitMq

type BookingRequested = { Pnr: string; Seats: int }
type BookingConfirmed = { Pnr: string; Seat: string }

let bookings =
    [ { BookingRequested.Pnr = "A1324B"; Seats = 2 }
      { Pnr = "K9Q2ZT"; Seats = 1 }
      { Pnr = "M7X0PL"; Seats = 4 }
      { Pnr = "T3ST01"; Seats = 3 }
      { Pnr = "Z8R4NV"; Seats = 2 } ]

let createBus settings =
    match Environment.GetEnvironmentVariable "Twyla__Amqp__Uri" with
    | null | "" -> EventBus.InMemory settings
    | uri -> EventBus.RabbitMq(RabbitMqSettings.FromUri uri, settings)

let run () = task {
    let bus = createBus (EventBusSettings.Create "booking-sample-fsharp")
    use system = ActorSystem.Create("booking-sample", "akka.loglevel = WARNING")
    let materializer = system.Materializer()
    printfn "Booking sample (F#) on %s" bus.TransportDescription

    do! bus.DeclareGroupAsync("booking.requested", "confirmer", ListenSettings.Default)
    do! bus.DeclareGroupAsync("booking.confirmed", "notifier", ListenSettings.Default)

    // The confirmer: confirm each request and emit the confirmation caused by it; ack on completion.
    let confirmer =
        bus.Listen<BookingRequested>("booking.requested", "confirmer")
            .To(
                AckOnCompletion.Sink(
                    (fun (request: Event<BookingRequested>) -> task {
                        let confirmation = { Pnr = request.Payload.Pnr; Seat = sprintf "SEAT-%dA" request.Payload.Seats }
                        let! _ = bus.EmitAsync(request.Derive("booking.confirmed", confirmation))
                        () }),
                    AckOnCompletionSettings.Create 4))
            .Run(materializer)

    // The notifier: print each confirmation with its correlation id.
    let confirmed = ConcurrentQueue<Event<BookingConfirmed>>()
    let allConfirmed = TaskCompletionSource()
    let notifier =
        bus.Listen<BookingConfirmed>("booking.confirmed", "notifier")
            .To(
                AckOnCompletion.Sink(
                    (fun (e: Event<BookingConfirmed>) -> task {
                        printfn "  confirmed %s seat %s (correlation %s, caused by %s)" e.Payload.Pnr e.Payload.Seat e.Metadata.CorrelationId e.Metadata.CausationId
                        confirmed.Enqueue e
                        if confirmed.Count = List.length bookings then allConfirmed.TrySetResult() |> ignore }),
                    AckOnCompletionSettings.Default))
            .Run(materializer)

    // One invalid request (no seats): dead-lettered with the reason, never handled.
    let! _ = bus.EmitAsync("booking.requested", JsonObject.Parse """{"pnr": "BROKEN"}""")

    // Emit the requests as a stream: the sink completes when the broker accepted every one.
    let! _ = Source.From(bookings).RunWith(bus.Emit<BookingRequested>("booking.requested"), materializer)

    let! finished = Task.WhenAny(allConfirmed.Task, Task.Delay(TimeSpan.FromSeconds 30.))
    do! Task.WhenAll [| confirmer.DrainAsync(); notifier.DrainAsync() |]

    let! deadLetters = bus.PeekDeadLettersAsync("booking.requested", "confirmer")
    printfn ""
    printfn "Summary"
    printfn "  requested:    %d valid + 1 invalid" (List.length bookings)
    printfn "  confirmed:    %d, in %d correlation chains" confirmed.Count (confirmed |> Seq.distinctBy (fun e -> e.Metadata.CorrelationId) |> Seq.length)
    printfn "  dead letters: %d" deadLetters.Count
    deadLetters |> Seq.iter (fun dead -> printfn "    %s %s: %s" dead.RoutingKey dead.Body dead.Reason)

    do! system.Terminate()
    do! bus.DisposeAsync()
    return if finished = allConfirmed.Task && deadLetters.Count >= 1 then 0 else 1 }

[<EntryPoint>]
let main _ = run().GetAwaiter().GetResult()
