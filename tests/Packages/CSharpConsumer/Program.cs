// A service built on the packages only: emit → listen on the in-memory bus, then an RPC call to a MapRpc endpoint
// on loopback Kestrel. Exits 0 and prints "ok" when each step did what it should.
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Twyla.Streams;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;

await using var bus = EventBus.InMemory(EventBusSettings.Create("consumer"));
using var system = ActorSystem.Create("consumer");
var materializer = system.Materializer();

// Listen first (the group's queue exists before the emit), then emit and wait for the event.
await bus.DeclareGroupAsync("greeting.sent", "consumer", ListenSettings.Default);
var received = new TaskCompletionSource<Event<Greeting>>(TaskCreationOptions.RunContinuationsAsynchronously);
var control = bus.Listen<Greeting>("greeting.sent", "consumer")
    .ToMaterialized(
        AckOnCompletion.Sink<Greeting>(e => { received.TrySetResult(e); return Task.CompletedTask; }, AckOnCompletionSettings.Default),
        Keep.Left)
    .Run(materializer);
var emitted = await bus.EmitAsync("greeting.sent", new Greeting("Ada"));
var heard = await received.Task.WaitAsync(TimeSpan.FromMinutes(1));
Check(heard.Metadata.Id == emitted.Id && heard.Payload.Name == "Ada", $"listened to {heard.Metadata.Name} {heard.Metadata.Id}");
await control.ShutdownAsync();

// RPC: a procedure on loopback Kestrel, called through RpcClient.
var builder = WebApplication.CreateSlimBuilder();
builder.WebHost.UseUrls("http://127.0.0.1:0");
builder.Logging.ClearProviders();
await using var app = builder.Build();
app.MapRpc<Greeting, Reply>("greet", (request, _) => Task.FromResult(new Reply($"Hello, {request.Name}")));
await app.StartAsync();
var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
using var client = new RpcClient(RpcClientSettings.Create().WithService("consumer", new Uri(address)));
var result = await client.CallAsync<Greeting, Reply>("consumer.greet", heard.Payload, CancellationToken.None);
Check(result is RpcResult<Reply>.Success { Value.Text: "Hello, Ada" }, $"called consumer.greet: {result}");
await app.StopAsync();
Console.WriteLine("ok");
return 0;

static void Check(bool condition, string what)
{
    Console.WriteLine((condition ? "passed: " : "FAILED: ") + what);
    if (!condition)
    {
        Environment.Exit(1);
    }
}

internal sealed record Greeting(string Name);

internal sealed record Reply(string Text);
