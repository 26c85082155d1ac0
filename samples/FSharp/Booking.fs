// The booking service's pieces, apart from Program so that samples/FSharp.Tests can test them the way a user would.
module Twyla.Samples.Booking.FSharp.Booking

open System
open System.Collections.Concurrent
open System.Threading
open System.Threading.Tasks
open Akka.Hosting
open Microsoft.Extensions.DependencyInjection
open Microsoft.Extensions.Hosting
open Twyla.Streams
open Twyla.Streams.Events
open Twyla.Streams.Hosting
open Twyla.Streams.Hosting.Rpc
open Twyla.Streams.Rpc

type BookingRequested = { Pnr: string; Seats: int }
type BookingConfirmed = { Pnr: string; Passenger: string; Route: string; Seats: int }
type GetBooking = { Pnr: string }
type BookingDetails = { Pnr: string; Passenger: string; Route: string }

/// The procedure the confirmer calls.
[<Literal>]
let GetBookingProcedure = "navitaire-api.get_booking"

/// What the notifier saw, by the request (event id) that caused each confirmation.
type Summary() =
    let confirmed = ConcurrentDictionary<string, EventMetadata>()
    member _.Confirmed(e: Event<BookingConfirmed>) = confirmed.TryAdd(e.Metadata.CausationId, e.Metadata) |> ignore
    /// The confirmations caused by these requests.
    member _.CausedBy(requests: Set<string>) = confirmed |> Seq.filter (fun c -> requests.Contains c.Key) |> Seq.map (fun c -> c.Value) |> Seq.toList

/// The procedure with its request and response types: calls infer both from it.
let getBooking = RpcProcedure.Create<GetBooking, BookingDetails> GetBookingProcedure

/// The confirmer's work: ask navitaire, then emit the confirmation caused by the request.
let confirm (rpc: RpcClient) (bus: EventBus) (request: Event<BookingRequested>) = task {
    let! result = rpc.CallAsync(getBooking, { GetBooking.Pnr = request.Payload.Pnr })
    do! result.Match<Task>(
            (fun details ->
                let confirmed = { Pnr = details.Pnr; Passenger = details.Passenger; Route = details.Route; Seats = request.Payload.Seats }
                bus.EmitAsync(request.Derive("booking.confirmed", confirmed))),
            (fun failure ->
                if failure.Status = 404 then request.DropAsync $"{failure.Code}: {failure.Message}" // retrying will not help
                else failwithf "navitaire-api failed: %s" failure.Code), // rejected, tried again
            (fun after -> failwithf "navitaire-api did not answer within %O" after)) }

/// Registers the service on a host: its RPC client, its summary, Twyla and the two listeners.
let configure (builder: IHostApplicationBuilder) =
    builder.Services.AddRpc(builder.Configuration).AddSingleton<Summary>() |> ignore
    builder.AddTwyla(fun akka ->
        akka.AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
            .WithTwylaScopedListener<BookingRequested>(
                "booking.requested", "confirmer",
                (fun services request -> confirm (services.GetRequiredService<RpcClient>()) (services.GetRequiredService<EventBus>()) request),
                TwylaListenerOptions(Parallelism = 4))
            .WithTwylaScopedListener<BookingConfirmed>("booking.confirmed", "notifier", fun services e ->
                task {
                    printfn "  confirmed %s for %s on %s, %d seat(s) (correlation %s)" e.Payload.Pnr e.Payload.Passenger e.Payload.Route e.Payload.Seats e.Metadata.CorrelationId
                    services.GetRequiredService<Summary>().Confirmed e }))
    |> ignore
