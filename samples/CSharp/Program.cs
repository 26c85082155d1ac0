// The booking pipeline as two hosted services in one process, built only on the public API.
//
//   navitaire-api   serves the procedure navitaire-api.get_booking over HTTP (Kestrel, 127.0.0.1)
//   booking         a Generic Host with two Twyla listeners:
//                     "confirmer": calls navitaire-api.get_booking for each booking.requested, then emits
//                                  booking.confirmed caused by it (an unknown booking is dead-lettered)
//                     "notifier":  prints each booking.confirmed with its correlation id
//
// Contracts: each listener announces its group's contract (the JSON Schema of its payload type) on the broker; this
// process, as a producer, discovers the confirmer's and checks requests against it before they are sent.
//
// Events run on the embedded in-memory broker unless Twyla__Amqp__Uri (or TWYLA_AMQP_HOST...) names RabbitMQ.
// The sample exits by itself with a summary; `-- --serve` keeps both services running until Ctrl+C; `-- --telemetry`
// exports traces and metrics to the console and adds a summary read from the metrics (SampleTelemetry.cs).
// navitaire-api describes itself: OpenAPI at /openapi/v1.json, AsyncAPI at /asyncapi.json.
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Twyla.Samples.Booking;
using Twyla.Streams;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting;
using Twyla.Streams.Hosting.Rpc;

var serve = args.Contains("--serve");
var telemetry = SampleTelemetry.FromArgs(args);

// ---- navitaire-api: a procedure served on Kestrel -----------------------------------------------------
var bookings = new Dictionary<string, BookingDetails>
{
    ["A1324B"] = new("A1324B", "Ada Lovelace", "LHR-JFK"),
    ["K9Q2ZT"] = new("K9Q2ZT", "Grace Hopper", "SFO-NRT"),
    ["M7X0PL"] = new("M7X0PL", "Alan Turing", "MAN-CDG"),
    ["T3ST01"] = new("T3ST01", "Edsger Dijkstra", "AMS-OSL"),
};
var apiBuilder = WebApplication.CreateSlimBuilder();
apiBuilder.WebHost.UseUrls("http://127.0.0.1:0");
apiBuilder.Logging.SetMinimumLevel(LogLevel.Warning);
apiBuilder.Services.AddRpc(apiBuilder.Configuration);
apiBuilder.Services.AddOpenApi();
var api = apiBuilder.Build();
api.MapRpc<GetBooking, BookingDetails>("get_booking", (request, cancellationToken) =>
    bookings.TryGetValue(request.Pnr, out var booking)
        ? Task.FromResult(booking)
        : throw new RpcException("booking_not_found", $"navitaire has no booking {request.Pnr}.", 404));
api.MapOpenApi();       // GET /openapi/v1.json: the procedure with its request and response schemas
api.MapTwylaAsyncApi(); // GET /asyncapi.json: the service's AsyncAPI document (here: the procedure it serves)
await api.StartAsync();
var apiAddress = api.Urls.First();

// What navitaire-api says it serves, read as any client tool would.
using var http = new HttpClient { BaseAddress = new Uri(apiAddress) };
var openApi = JsonNode.Parse(await http.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
var described = string.Join(", ", openApi?["paths"]?.AsObject().Select(p => "POST " + p.Key) ?? []);

// ---- booking: listeners as hosted graphs ---------------------------------------------------------------
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Configuration["Twyla:ServiceName"] = "booking";
// The transport, chosen explicitly (outside Development, Twyla does not fall back to in-memory by itself).
var brokerConfigured = builder.Configuration["Twyla:Amqp:Uri"] is not null || builder.Configuration["TWYLA_AMQP_HOST"] is not null;
builder.Configuration["Twyla:Transport"] = brokerConfigured ? "RabbitMq" : "InMemory";
builder.Configuration["Twyla:Rpc:Services:navitaire-api"] = apiAddress;
BookingService.Configure(builder);
telemetry?.AddTo(builder.Services);
using var host = builder.Build();
await host.StartAsync();

var bus = host.Services.GetRequiredService<EventBus>();
Console.WriteLine($"Booking sample: events on {bus.TransportDescription}, navitaire-api on {apiAddress}");

// Contracts: the confirmer announced what it accepts when its listener started; discover it as any producer would.
var contracts = await WaitForAsync(async () =>
    await bus.DiscoverContractsAsync("booking.requested") is { Groups.Count: > 0 } found ? found : null);

// With the pre-emit check, a request the confirmer would dead-letter (no seats) is refused before it is sent...
var checking = EmitSettings.Default.WithContractCheck(true);
string refused;
try
{
    await bus.EmitAsync(OutgoingEvent.Create("booking.requested", new JsonObject { ["pnr"] = "UNCHECKED" }), checking, CancellationToken.None);
    refused = "nothing (the check let it through)";
}
catch (EmitException e)
{
    refused = e.Message;
}

// ...without it, it goes out, never reaches the confirmer, and is dead-lettered with the reason.
var broken = await bus.EmitAsync("booking.requested", new JsonObject { ["pnr"] = "BROKEN" });

// The requests, emitted as a stream: each one's metadata comes out once the broker accepted it. Z8R4NV is unknown to navitaire.
BookingRequested[] requests =
[
    new("A1324B", 2), new("K9Q2ZT", 1), new("M7X0PL", 4), new("T3ST01", 3), new("Z8R4NV", 2),
];
var emitted = await Source.From(requests)
    .Select(request => OutgoingEvent.Create("booking.requested", request))
    .Via(bus.EmitFlow<BookingRequested>(checking))
    .RunWith(Sink.Seq<EventMetadata>(), host.Services.GetRequiredService<ActorSystem>().Materializer());

// Only this run's events count: on RabbitMQ the dead-letter queue keeps what earlier runs left there.
var summary = host.Services.GetRequiredService<Summary>();
var ours = emitted.Select(e => e.Id).Append(broken.Id).ToHashSet();
var expectedDeadLetters = 2;
var deadLetters = await WaitForAsync(async () =>
{
    var dead = (await bus.PeekDeadLettersAsync("booking.requested", "confirmer")).Where(d => d.Metadata is { } m && ours.Contains(m.Id)).ToList();
    return summary.CausedBy(ours) >= requests.Length - 1 && dead.Count >= expectedDeadLetters ? dead : null;
});

if (serve)
{
    Console.WriteLine("Serving; Ctrl+C stops (listeners drain first).");
    await host.WaitForShutdownAsync();
}
else
{
    await host.StopAsync(); // drains the listeners: in-flight events finish and are acked
}

await api.StopAsync();
var measured = telemetry?.Summarize(host.Services); // after the drain: every handler has finished

Console.WriteLine();
Console.WriteLine("Summary");
Console.WriteLine($"  requested:    {requests.Length} + 1 invalid");
Console.WriteLine($"  confirmed:    {summary.CausedBy(ours)}, each in its own correlation chain: {summary.Chains(ours) == summary.CausedBy(ours)}");
Console.WriteLine($"  dead letters: {deadLetters?.Count ?? 0}");
foreach (var dead in deadLetters ?? [])
{
    Console.WriteLine($"    {dead.Body}: {dead.Reason}");
}

Console.WriteLine($"  contracts:    {contracts?.Groups.Count ?? 0} group(s) receive booking.requested");
foreach (var group in contracts?.Groups ?? [])
{
    var required = group.Schema?["required"]?.AsArray().Select(n => n!.GetValue<string>()) ?? ["anything"];
    Console.WriteLine($"    {group.Service}/{group.Group} on '{group.Pattern}': versions {string.Join(", ", group.Versions)}, requires {string.Join(", ", required)}");
}

Console.WriteLine($"  checked:      refused before sending: {refused}");
Console.WriteLine($"  described:    navitaire-api's OpenAPI document lists {described} (and /asyncapi.json)");

if (measured is not null)
{
    Console.WriteLine(measured);
}

return deadLetters is not null && contracts is not null ? 0 : 1;

static async Task<T?> WaitForAsync<T>(Func<Task<T?>> probe) where T : class
{
    var deadline = DateTime.UtcNow.AddSeconds(30);
    while (DateTime.UtcNow < deadline)
    {
        if (await probe() is { } done)
        {
            return done;
        }

        await Task.Delay(50);
    }

    return null;
}
