// The booking pipeline on the public API of Twyla.Streams.
//
//   emit booking.requested ──► group "confirmer": confirm, emit booking.confirmed (caused by the request)
//                                                        └──► group "notifier": print with the correlation id
//
// Runs on the embedded in-memory broker unless Twyla__Amqp__Uri names a RabbitMQ broker. Exits by itself.
using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams;
using Twyla.Streams.Events;
using Twyla.Streams.Transport.RabbitMq;

const int bookings = 5;
var settings = EventBusSettings.Create("booking-sample");
var amqpUri = Environment.GetEnvironmentVariable("Twyla__Amqp__Uri");
await using var bus = string.IsNullOrWhiteSpace(amqpUri)
    ? EventBus.InMemory(settings)
    : EventBus.RabbitMq(RabbitMqSettings.FromUri(amqpUri), settings);
using var system = ActorSystem.Create("booking-sample", "akka.loglevel = WARNING");
var materializer = system.Materializer();
Console.WriteLine($"Booking sample on {bus.TransportDescription}");

// Declare both groups first, so no event is emitted before its queue exists.
await bus.DeclareGroupAsync("booking.requested", "confirmer", ListenSettings.Default);
await bus.DeclareGroupAsync("booking.confirmed", "notifier", ListenSettings.Default);

// The confirmer: handles each request and emits a confirmation caused by it. Ack on completion.
var confirmer = bus.Listen<BookingRequested>("booking.requested", "confirmer")
    .To(
        AckOnCompletion.Sink<BookingRequested>(
            async request =>
            {
                var confirmation = new BookingConfirmed(request.Payload.Pnr, $"SEAT-{request.Payload.Seats}A");
                await bus.EmitAsync(request.Derive("booking.confirmed", confirmation));
            },
            AckOnCompletionSettings.Create(parallelism: 4)))
    .Run(materializer);

// The notifier: prints each confirmation with its correlation id.
var confirmed = new ConcurrentQueue<Event<BookingConfirmed>>();
var allConfirmed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
var notifier = bus.Listen<BookingConfirmed>("booking.confirmed", "notifier")
    .To(
        AckOnCompletion.Sink<BookingConfirmed>(
            e =>
            {
                Console.WriteLine($"  confirmed {e.Payload.Pnr} seat {e.Payload.Seat} (correlation {e.Metadata.CorrelationId}, caused by {e.Metadata.CausationId})");
                confirmed.Enqueue(e);
                if (confirmed.Count == bookings)
                {
                    allConfirmed.TrySetResult();
                }

                return Task.CompletedTask;
            },
            AckOnCompletionSettings.Default))
    .Run(materializer);

// One invalid request (no seats): it never reaches the confirmer, it is dead-lettered with the reason.
await bus.EmitAsync("booking.requested", new JsonObject { ["pnr"] = "BROKEN" });

// Emit the requests as a stream: the sink completes when the broker accepted every one.
var requests = new[]
{
    new BookingRequested("A1324B", 2), new BookingRequested("K9Q2ZT", 1), new BookingRequested("M7X0PL", 4),
    new BookingRequested("T3ST01", 3), new BookingRequested("Z8R4NV", 2),
};
await Source.From(requests)
    .RunWith(bus.Emit<BookingRequested>("booking.requested"), materializer);

var finished = await Task.WhenAny(allConfirmed.Task, Task.Delay(TimeSpan.FromSeconds(30)));
await Task.WhenAll(confirmer.DrainAsync(), notifier.DrainAsync());

var deadLetters = await bus.PeekDeadLettersAsync("booking.requested", "confirmer");
Console.WriteLine();
Console.WriteLine("Summary");
Console.WriteLine($"  requested:    {requests.Length} valid + 1 invalid");
Console.WriteLine($"  confirmed:    {confirmed.Count}, in {confirmed.Select(e => e.Metadata.CorrelationId).Distinct().Count()} correlation chains");
Console.WriteLine($"  dead letters: {deadLetters.Count}");
foreach (var dead in deadLetters)
{
    Console.WriteLine($"    {dead.Metadata?.Name ?? dead.RoutingKey} {dead.Body}: {dead.Reason}");
}

await system.Terminate();
return finished == allConfirmed.Task && deadLetters.Count >= 1 ? 0 : 1;

/// <summary>A customer asked for a booking.</summary>
internal sealed record BookingRequested(string Pnr, int Seats);

/// <summary>The booking was confirmed.</summary>
internal sealed record BookingConfirmed(string Pnr, string Seat);
