/// The spots where F# used to need a workaround: each is gone, shown by code that compiles and a behaviour it has.
module Twyla.Streams.FSharp.Tests.ApiShapeTests

open System.Threading.Tasks
open Microsoft.Extensions.DependencyInjection
open Microsoft.Extensions.Hosting
open Twyla.Streams
open Twyla.Streams.Events // after FSharp.Core's auto-opened FSharp.Control: Event<'T> below is Twyla's
open Twyla.Streams.Hosting
open Twyla.Streams.FSharp.Tests.Support
open Xunit

type Booked = { Pnr: string; Seats: int }

[<Fact>]
let ``Event<'T> should be Twyla's event once Twyla.Streams.Events is opened, and F#'s event stay reachable`` () = task {
    use fixture = new BusFixture()
    let seen = handOver<Event<Booked>> ()
    let! _ = fixture.ListenAsync<Booked>("booking.created", "opens", fun (e: Event<Booked>) -> task { seen.TrySetResult e |> ignore })
    let! emitted = fixture.Bus.EmitAsync("booking.created", { Pnr = "E1"; Seats = 1 })
    let! e = firstOf seen
    Assert.Equal(emitted.Id, e.Metadata.Id)
    let fsharpEvent = FSharp.Control.Event<int>()
    let mutable published = 0
    fsharpEvent.Publish.Add(fun n -> published <- n)
    fsharpEvent.Trigger 7
    Assert.Equal(7, published) }

[<Fact>]
let ``An anonymous record should be an untyped payload, with no JsonNode upcasts`` () = task {
    use fixture = new BusFixture()
    let seen = handOver<Booked> ()
    let! _ = fixture.ListenAsync<Booked>("booking.created", "anonymous", fun e -> task { seen.TrySetResult e.Payload |> ignore })
    do! fixture.Bus.EmitAndConfirmAsync("booking.created", {| pnr = "U1"; seats = 3 |})
    let! booked = firstOf seen
    Assert.Equal({ Pnr = "U1"; Seats = 3 }, booked) }

[<Fact>]
let ``AddTwyla should take a lambda that returns the Akka builder, with no ignore inside`` () = task {
    use fixture = new BusFixture()
    let seen = handOver<string> ()
    let builder = HostApplicationBuilder(HostApplicationBuilderSettings(DisableDefaults = true))
    builder.Services.AddSingleton fixture.Bus |> ignore
    builder.AddTwyla(fun akka ->
        akka.WithTwylaListener<Booked>("booking.created", "fluent", fun e -> task { seen.TrySetResult e.Payload.Pnr |> ignore }))
    |> ignore
    use host = builder.Build()
    do! fixture.Bus.DeclareGroupAsync("booking.created", "fluent", ListenSettings.Default)
    do! host.StartAsync()
    do! fixture.Bus.EmitAndConfirmAsync("booking.created", { Pnr = "B1"; Seats = 1 })
    let! pnr = firstOf seen
    Assert.Equal("B1", pnr)
    do! host.StopAsync() }
