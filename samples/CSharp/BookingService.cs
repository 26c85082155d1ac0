// The booking service's pieces, apart from Program so that samples/CSharp.Tests can test them the way a user would.
using System.Collections.Concurrent;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Twyla.Streams;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;

namespace Twyla.Samples.Booking;

/// <summary>A customer asked for a booking.</summary>
public sealed record BookingRequested(string Pnr, int Seats);

/// <summary>The booking was confirmed.</summary>
public sealed record BookingConfirmed(string Pnr, string Passenger, string Route, int Seats);

/// <summary>The request of navitaire-api.get_booking.</summary>
public sealed record GetBooking(string Pnr);

/// <summary>The response of navitaire-api.get_booking.</summary>
public sealed record BookingDetails(string Pnr, string Passenger, string Route);

/// <summary>
/// The booking service: "confirmer" calls navitaire-api.get_booking for each booking.requested and emits
/// booking.confirmed caused by it (an unknown booking is dead-lettered); "notifier" prints each booking.confirmed.
/// </summary>
public static class BookingService
{
    /// <summary>The procedure the confirmer calls.</summary>
    public const string GetBookingProcedure = "navitaire-api.get_booking";

    /// <summary>Registers the service on a host: its RPC client, its summary, Twyla and the two listeners.</summary>
    public static void Configure(IHostApplicationBuilder builder)
    {
        builder.Services.AddRpc(builder.Configuration);
        builder.Services.AddSingleton<Summary>();
        builder.AddTwyla(akka => akka
            .AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
            .WithTwylaScopedListener<BookingRequested>(
                "booking.requested",
                "confirmer",
                (services, request) => ConfirmAsync(services.GetRequiredService<RpcClient>(), services.GetRequiredService<EventBus>(), request),
                new TwylaListenerOptions { Parallelism = 4 })
            .WithTwylaScopedListener<BookingConfirmed>("booking.confirmed", "notifier", (services, e) =>
            {
                Console.WriteLine($"  confirmed {e.Payload.Pnr} for {e.Payload.Passenger} on {e.Payload.Route}, {e.Payload.Seats} seat(s) " +
                                  $"(correlation {e.Metadata.CorrelationId})");
                services.GetRequiredService<Summary>().Confirmed(e);
                return Task.CompletedTask;
            }));
    }

    /// <summary>The confirmer's work: ask navitaire, then emit the confirmation caused by the request.</summary>
    public static async Task ConfirmAsync(RpcClient rpc, EventBus bus, Event<BookingRequested> request)
    {
        var result = await rpc.CallAsync<GetBooking, BookingDetails>(GetBookingProcedure, new GetBooking(request.Payload.Pnr), CancellationToken.None);
        switch (result)
        {
            case RpcResult<BookingDetails>.Success(var details):
                var confirmed = new BookingConfirmed(details.Pnr, details.Passenger, details.Route, request.Payload.Seats);
                await bus.EmitAsync(request.Derive("booking.confirmed", confirmed));
                break;
            case RpcResult<BookingDetails>.Failure { Status: 404 } notFound:
                await request.DropAsync($"{notFound.Code}: {notFound.Message}"); // trying again will not help
                break;
            case RpcResult<BookingDetails>.Failure failure:
                throw new InvalidOperationException($"navitaire-api failed: {failure.Code}"); // rejected, tried again
            case RpcResult<BookingDetails>.Timeout timeout:
                throw new TimeoutException($"navitaire-api did not answer within {timeout.After}");
        }
    }
}

/// <summary>What the notifier saw, by the request that caused each confirmation.</summary>
public sealed class Summary
{
    private readonly ConcurrentDictionary<string, EventMetadata> _confirmed = new();

    /// <summary>How many of <paramref name="requests"/> (event ids) were confirmed.</summary>
    public int CausedBy(IReadOnlySet<string> requests) => _confirmed.Keys.Count(requests.Contains);

    /// <summary>In how many correlation chains the confirmations of <paramref name="requests"/> are.</summary>
    public int Chains(IReadOnlySet<string> requests) =>
        _confirmed.Where(c => requests.Contains(c.Key)).Select(c => c.Value.CorrelationId).Distinct().Count();

    public void Confirmed(Event<BookingConfirmed> e) => _confirmed.TryAdd(e.Metadata.CausationId, e.Metadata);
}
