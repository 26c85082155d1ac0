/// Calling a procedure from F# without type arguments or a token: a typed RpcProcedure carries both types, and
/// option members of requests and responses are optional as they are in events.
module Twyla.Streams.FSharp.Tests.RpcTests

open System
open System.Threading
open System.Threading.Tasks
open Akka.Actor
open Akka.Streams
open Akka.Streams.Dsl
open Microsoft.AspNetCore.Builder
open Microsoft.AspNetCore.Hosting
open Microsoft.Extensions.DependencyInjection
open Microsoft.Extensions.Logging
open Twyla.Streams.Hosting.Rpc
open Twyla.Streams.Rpc
open Twyla.Streams.FSharp.Tests.Support
open Xunit

type GetBooking = { Pnr: string }
type Booking = { Pnr: string; Passenger: string; Note: string option }

/// Declared once; every call below infers GetBooking and Booking from it.
let getBooking = RpcProcedure.Create<GetBooking, Booking> "bookings.get_booking"

/// A real Kestrel server on loopback serving get_booking: A1 has a note, B2 has none, the rest are unknown.
let private serve () = task {
    let builder = WebApplication.CreateSlimBuilder()
    builder.WebHost.UseUrls "http://127.0.0.1:0" |> ignore
    builder.Logging.ClearProviders() |> ignore
    builder.Services.AddRpc builder.Configuration |> ignore
    let app = builder.Build()
    app.MapRpc("get_booking", fun (request: GetBooking) (_: CancellationToken) -> task {
        match request.Pnr with
        | "A1" -> return { Pnr = "A1"; Passenger = "Ada"; Note = Some "window" }
        | "B2" -> return { Pnr = "B2"; Passenger = "Bob"; Note = None }
        | pnr -> return raise (RpcException("booking_not_found", $"no booking {pnr}", 404)) })
    |> ignore
    do! app.StartAsync()
    return app }

let private clientFor (app: WebApplication) =
    new RpcClient(RpcClientSettings.Create().WithService("bookings", Uri(Seq.head app.Urls)))

let private describe (result: RpcResult<Booking>) =
    result.Match((fun booking -> $"{booking.Passenger} {booking.Note}"), (fun failure -> failure.Code), (fun after -> $"timeout {after}"))

[<Fact>]
let ``CallAsync should infer the types from a typed procedure and need no token`` () = task {
    use! app = serve ()
    use rpc = clientFor app
    let! found = rpc.CallAsync(getBooking, { GetBooking.Pnr = "A1" })
    let! noNote = rpc.CallAsync(getBooking, { GetBooking.Pnr = "B2" }, CancellationToken.None)
    let! missing = rpc.CallAsync(getBooking, { GetBooking.Pnr = "Z9" }, RpcCallSettings.Create().WithTimeout(TimeSpan.FromSeconds 10.), CancellationToken.None)
    Assert.Equal("Ada Some(window)", describe found)
    Assert.Equal("Bob ", describe noNote)
    Assert.Equal("booking_not_found", describe missing)
    do! app.StopAsync() }

[<Fact>]
let ``CallAsync by name should need no token`` () = task {
    use! app = serve ()
    use rpc = clientFor app
    let! found = rpc.CallAsync<GetBooking, Booking>("bookings.get_booking", { GetBooking.Pnr = "A1" })
    Assert.Equal("Ada Some(window)", describe found)
    do! app.StopAsync() }

[<Fact>]
let ``Flow should infer the types from a typed procedure`` () = task {
    use! app = serve ()
    use rpc = clientFor app
    let system = ActorSystem.Create "fsharp-rpc"
    use _ = { new IAsyncDisposable with member _.DisposeAsync() = ValueTask(system.Terminate().WaitAsync hang) }
    let! results =
        Source.From([ { GetBooking.Pnr = "A1" }; { Pnr = "Z9" } ])
            .Via(rpc.Flow getBooking)
            .Select(describe)
            .RunWith(Sink.Seq<string>(), system.Materializer())
    Assert.Equal<string list>([ "Ada Some(window)"; "booking_not_found" ], List.ofSeq results)
    do! app.StopAsync() }

[<Fact>]
let ``A typed procedure should refuse a malformed name when it is declared`` () =
    let error = Assert.Throws<ArgumentException>(fun () -> RpcProcedure.Create<GetBooking, Booking> "no-dot" |> ignore)
    Assert.Contains("service.procedure", error.Message)
