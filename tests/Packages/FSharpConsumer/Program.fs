// A service built on the packages only, in F#: emit → listen on the in-memory bus, then an RPC call to a MapRpc
// endpoint on loopback Kestrel. Exits 0 and prints "ok" when each step did what it should.
open System
open System.Threading
open System.Threading.Tasks
open Akka.Actor
open Akka.Streams
open Akka.Streams.Dsl
open Microsoft.AspNetCore.Builder
open Microsoft.AspNetCore.Hosting
open Microsoft.AspNetCore.Hosting.Server
open Microsoft.AspNetCore.Hosting.Server.Features
open Microsoft.Extensions.DependencyInjection
open Microsoft.Extensions.Logging
open Twyla.Streams
open Twyla.Streams.Events
open Twyla.Streams.Hosting.Rpc
open Twyla.Streams.Rpc

type Greeting = { Name: string }
type Reply = { Text: string }

let check condition (what: string) =
    printfn "%s%s" (if condition then "passed: " else "FAILED: ") what
    if not condition then exit 1

let run () =
    task {
        use bus = EventBus.InMemory(EventBusSettings.Create "fsharp-consumer")
        use system = ActorSystem.Create "fsharp-consumer"
        let materializer = system.Materializer()

        do! bus.DeclareGroupAsync("greeting.sent", "fsharp-consumer", ListenSettings.Default)
        let received = TaskCompletionSource<Event<Greeting>>(TaskCreationOptions.RunContinuationsAsynchronously)
        let handle (e: Event<Greeting>) : Task =
            received.TrySetResult e |> ignore
            Task.CompletedTask
        let control =
            bus.Listen<Greeting>("greeting.sent", "fsharp-consumer")
                .ToMaterialized(AckOnCompletion.Sink<Greeting>(Func<_, _> handle, AckOnCompletionSettings.Default), Func<_, _, _>(fun (listen: IListenControl) _ -> listen))
                .Run(materializer)
        let! emitted = bus.EmitAsync("greeting.sent", { Name = "Ada" })
        let! heard = received.Task.WaitAsync(TimeSpan.FromMinutes 1.0)
        check (heard.Metadata.Id = emitted.Id && heard.Payload.Name = "Ada") $"listened to {heard.Metadata.Name} {heard.Metadata.Id}"
        do! control.ShutdownAsync()

        let builder = WebApplication.CreateSlimBuilder()
        builder.WebHost.UseUrls("http://127.0.0.1:0") |> ignore
        builder.Logging.ClearProviders() |> ignore
        let app = builder.Build()
        app.MapRpc("greet", fun (request: Greeting) (_: CancellationToken) -> task { return { Text = $"Hello, {request.Name}" } }) |> ignore
        do! app.StartAsync()
        let address =
            match app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>() with
            | null -> failwith "Kestrel has no address"
            | feature -> Seq.head feature.Addresses
        use client = new RpcClient(RpcClientSettings.Create().WithService("fsharp-consumer", Uri address))
        let! result = client.CallAsync<Greeting, Reply>("fsharp-consumer.greet", heard.Payload, CancellationToken.None)
        let text = result.Match((fun reply -> reply.Text), (fun failure -> failure.Message), (fun after -> $"timeout after {after}"))
        check (text = "Hello, Ada") $"called fsharp-consumer.greet: {text}"
        do! app.StopAsync()
        do! (app :> IAsyncDisposable).DisposeAsync()
        printfn "ok"
        return 0
    }

[<EntryPoint>]
let main _ = run().GetAwaiter().GetResult()
