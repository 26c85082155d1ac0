// The booking pipeline as two hosted services in one process, built only on the public API.
//
//   navitaire-api   serves the procedure navitaire-api.get_booking over HTTP (Kestrel, 127.0.0.1)
//   booking         a Generic Host with two Twyla listeners:
//                     "confirmer": calls navitaire-api.get_booking for each booking.requested, then emits
//                                  booking.confirmed caused by it (an unknown booking is dead-lettered)
//                     "notifier":  prints each booking.confirmed with its correlation id
//
// Events run on the embedded in-memory broker unless Twyla__Amqp__Uri (or TWYLA_AMQP_HOST...) names RabbitMQ.
// The sample exits by itself with a summary; `-- --serve` keeps both services running until Ctrl+C; `-- --telemetry`
// exports traces and metrics to the console and adds a summary read from the metrics (SampleTelemetry.cs).
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Twyla.Streams;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;

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
var api = apiBuilder.Build();
api.MapRpc<GetBooking, BookingDetails>("get_booking", (request, cancellationToken) =>
    bookings.TryGetValue(request.Pnr, out var booking)
        ? Task.FromResult(booking)
        : throw new RpcException("booking_not_found", $"navitaire has no booking {request.Pnr}.", 404));
await api.StartAsync();
var apiAddress = api.Urls.First();

// ---- booking: listeners as hosted graphs ---------------------------------------------------------------
var builder = Host.CreateApplicationBuilder(args);
builder.Logging.SetMinimumLevel(LogLevel.Warning);
builder.Configuration["Twyla:ServiceName"] = "booking";
// The transport, chosen explicitly (outside Development, Twyla does not fall back to in-memory by itself).
var brokerConfigured = builder.Configuration["Twyla:Amqp:Uri"] is not null || builder.Configuration["TWYLA_AMQP_HOST"] is not null;
builder.Configuration["Twyla:Transport"] = brokerConfigured ? "RabbitMq" : "InMemory";
builder.Configuration["Twyla:Rpc:Services:navitaire-api"] = apiAddress;
builder.Services.AddRpc(builder.Configuration);
builder.Services.AddSingleton<Summary>();
telemetry?.AddTo(builder.Services);
builder.AddTwyla(akka => akka
    .AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
    .WithTwylaScopedListener<BookingRequested>("booking.requested", "confirmer", async (services, request) =>
    {
        var rpc = services.GetRequiredService<RpcClient>();
        var result = await rpc.CallAsync<GetBooking, BookingDetails>(
            "navitaire-api.get_booking", new GetBooking(request.Payload.Pnr), CancellationToken.None);
        switch (result)
        {
            case RpcResult<BookingDetails>.Success(var details):
                var confirmed = new BookingConfirmed(details.Pnr, details.Passenger, details.Route, request.Payload.Seats);
                await services.GetRequiredService<EventBus>().EmitAsync(request.Derive("booking.confirmed", confirmed));
                break;
            case RpcResult<BookingDetails>.Failure { Status: 404 } notFound:
                await request.DropAsync($"{notFound.Code}: {notFound.Message}"); // trying again will not help
                break;
            case RpcResult<BookingDetails>.Failure failure:
                throw new InvalidOperationException($"navitaire-api failed: {failure.Code}"); // rejected, tried again
            case RpcResult<BookingDetails>.Timeout timeout:
                throw new TimeoutException($"navitaire-api did not answer within {timeout.After}");
        }
    }, new TwylaListenerOptions { Parallelism = 4 })
    .WithTwylaScopedListener<BookingConfirmed>("booking.confirmed", "notifier", (services, e) =>
    {
        Console.WriteLine($"  confirmed {e.Payload.Pnr} for {e.Payload.Passenger} on {e.Payload.Route}, {e.Payload.Seats} seat(s) " +
                          $"(correlation {e.Metadata.CorrelationId})");
        services.GetRequiredService<Summary>().Confirmed(e);
        return Task.CompletedTask;
    }));
using var host = builder.Build();
await host.StartAsync();

var bus = host.Services.GetRequiredService<EventBus>();
Console.WriteLine($"Booking sample: events on {bus.TransportDescription}, navitaire-api on {apiAddress}");

// One invalid request (no seats): it never reaches the confirmer, it is dead-lettered with the reason.
var broken = await bus.EmitAsync("booking.requested", new JsonObject { ["pnr"] = "BROKEN" });

// The requests, emitted as a stream: each one's metadata comes out once the broker accepted it. Z8R4NV is unknown to navitaire.
BookingRequested[] requests =
[
    new("A1324B", 2), new("K9Q2ZT", 1), new("M7X0PL", 4), new("T3ST01", 3), new("Z8R4NV", 2),
];
var emitted = await Source.From(requests)
    .Select(request => OutgoingEvent.Create("booking.requested", request))
    .Via(bus.EmitFlow<BookingRequested>())
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

if (measured is not null)
{
    Console.WriteLine(measured);
}

return deadLetters is not null ? 0 : 1;

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

/// <summary>A customer asked for a booking.</summary>
internal sealed record BookingRequested(string Pnr, int Seats);

/// <summary>The booking was confirmed.</summary>
internal sealed record BookingConfirmed(string Pnr, string Passenger, string Route, int Seats);

/// <summary>The request of navitaire-api.get_booking.</summary>
internal sealed record GetBooking(string Pnr);

/// <summary>The response of navitaire-api.get_booking.</summary>
internal sealed record BookingDetails(string Pnr, string Passenger, string Route);

/// <summary>What the notifier saw, by the request that caused each confirmation.</summary>
internal sealed class Summary
{
    private readonly ConcurrentDictionary<string, EventMetadata> _confirmed = new();

    /// <summary>How many of <paramref name="requests"/> (event ids) were confirmed.</summary>
    public int CausedBy(IReadOnlySet<string> requests) => _confirmed.Keys.Count(requests.Contains);

    /// <summary>In how many correlation chains the confirmations of <paramref name="requests"/> are.</summary>
    public int Chains(IReadOnlySet<string> requests) =>
        _confirmed.Where(c => requests.Contains(c.Key)).Select(c => c.Value.CorrelationId).Distinct().Count();

    public void Confirmed(Event<BookingConfirmed> e) => _confirmed.TryAdd(e.Metadata.CausationId, e.Metadata);
}
