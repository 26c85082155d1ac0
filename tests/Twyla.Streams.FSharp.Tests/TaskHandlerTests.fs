/// Handlers are plain F# functions: a named function returning Task<unit> (or any Task<'T>) goes wherever a Task
/// handler goes, with no lambda around it.
module Twyla.Streams.FSharp.Tests.TaskHandlerTests

open System
open System.Threading.Tasks
open Akka.Streams.Dsl
open Microsoft.Extensions.DependencyInjection
open Microsoft.Extensions.Hosting
open Twyla.Streams
open Twyla.Streams.Events
open Twyla.Streams.Hosting
open Twyla.Streams.FSharp.Tests.Support
open Xunit

type Booked = { Pnr: string }
type Confirmed = { Pnr: string; Seat: string }

/// A named handler: Event<Booked> -> Task<unit>.
let private recordInto (seen: TaskCompletionSource<string>) (e: Event<Booked>) = task { seen.TrySetResult e.Payload.Pnr |> ignore }

/// A named scoped handler: IServiceProvider -> Event<Booked> -> Task<unit>.
let private recordScopedInto (seen: TaskCompletionSource<string>) (services: IServiceProvider) (e: Event<Booked>) = task {
    let bus = services.GetRequiredService<EventBus>()
    seen.TrySetResult $"{e.Payload.Pnr} via {bus.Settings.ServiceName}" |> ignore }

[<Fact>]
let ``AckOnCompletion.Sink should take a named handler returning Task<unit>`` () = task {
    use fixture = new BusFixture()
    let seen = handOver<string> ()
    let handle = recordInto seen
    let control = fixture.Bus.Listen<Booked>("booking.created", "sink").To(AckOnCompletion.Sink(handle, AckOnCompletionSettings.Default)).Run fixture.Materializer
    do! control.Ready.WaitAsync hang
    do! fixture.Bus.EmitAndConfirmAsync("booking.created", { Booked.Pnr = "S1" })
    let! pnr = firstOf seen
    Assert.Equal("S1", pnr) }

[<Fact>]
let ``AckOnCompletion.Flow should take a handler that ends with the emit, and ack the event`` () = task {
    use fixture = new BusFixture()
    let bus = fixture.Bus
    // Returns Task<EventMetadata>: no `let! _ =` and no `|> ignore` needed.
    let confirm (request: Event<Booked>) = bus.EmitAsync(request.Derive("booking.confirmed", { Pnr = request.Payload.Pnr; Seat = "12A" }))
    let confirmed = handOver<Event<Confirmed>> ()
    let! _ = fixture.ListenAsync<Confirmed>("booking.confirmed", "reader", fun e -> task { confirmed.TrySetResult e |> ignore })
    let control, handled =
        bus.Listen<Booked>("booking.created", "flow")
            .Via(AckOnCompletion.Flow(confirm, AckOnCompletionSettings.Default))
            .ToMaterialized(Sink.First<HandledEvent>(), fun control handled -> control, handled)
            .Run fixture.Materializer
    do! control.Ready.WaitAsync hang
    let! request = bus.EmitAsync("booking.created", { Booked.Pnr = "F1" })
    let! outcome = handled.WaitAsync hang
    Assert.Equal(SettleKind.Ack, outcome.Settlement)
    let! e = firstOf confirmed
    Assert.Equal({ Pnr = "F1"; Seat = "12A" }, e.Payload)
    Assert.Equal(request.Id, e.Metadata.CausationId) }

[<Fact>]
let ``AckOnCompletion should still take a lambda`` () = task {
    use fixture = new BusFixture()
    let seen = handOver<string> ()
    let control =
        fixture.Bus.Listen<Booked>("booking.created", "lambda")
            .To(AckOnCompletion.Sink((fun (e: Event<Booked>) -> task { seen.TrySetResult e.Payload.Pnr |> ignore }), AckOnCompletionSettings.Create 2))
            .Run fixture.Materializer
    do! control.Ready.WaitAsync hang
    do! fixture.Bus.EmitAndConfirmAsync("booking.created", { Booked.Pnr = "L1" })
    let! pnr = firstOf seen
    Assert.Equal("L1", pnr) }

/// A Generic Host on the fixture's bus whose Akka.Hosting setup is `configure`.
let private hostOn (fixture: BusFixture) (configure: Akka.Hosting.AkkaConfigurationBuilder -> unit) =
    let builder = HostApplicationBuilder(HostApplicationBuilderSettings(DisableDefaults = true))
    builder.Services.AddSingleton fixture.Bus |> ignore
    builder.AddTwyla configure |> ignore
    builder.Build()

[<Fact>]
let ``Hosted listeners should take named handlers returning Task<unit>`` () = task {
    use fixture = new BusFixture()
    let plain = handOver<string> ()
    let scoped = handOver<string> ()
    use host = hostOn fixture (fun akka ->
        akka.WithTwylaListener("booking.created", "plain", recordInto plain)
            .WithTwylaScopedListener("booking.created", "scoped", recordScopedInto scoped, TwylaListenerOptions(Parallelism = 2))
        |> ignore)
    // The groups' queues exist before the host starts, so the event below waits for both listeners.
    do! fixture.Bus.DeclareGroupAsync("booking.created", "plain", ListenSettings.Default)
    do! fixture.Bus.DeclareGroupAsync("booking.created", "scoped", ListenSettings.Default)
    do! host.StartAsync()
    do! fixture.Bus.EmitAndConfirmAsync("booking.created", { Booked.Pnr = "H1" })
    let! plainPnr = firstOf plain
    let! scopedPnr = firstOf scoped
    Assert.Equal("H1", plainPnr)
    Assert.Equal("H1 via fsharp-tests", scopedPnr)
    do! host.StopAsync() }
