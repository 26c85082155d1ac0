using System.Globalization;

namespace Twyla.Streams.Benchmarks.Events;

/// <summary>
/// The benchmark's payload: a realistic booking record, about 300 bytes of JSON. Public, as a service's contracts are:
/// MassTransit treats the exchanges of non-public message types as temporary (non-durable, auto-delete).
/// </summary>
public sealed record BookingConfirmed(
    string BookingId,
    string CustomerId,
    string FlightNumber,
    string Origin,
    string Destination,
    DateTimeOffset DepartureUtc,
    int Passengers,
    string FareClass,
    decimal TotalAmount,
    string Currency,
    string SalesChannel,
    string ContactEmail,
    IReadOnlyList<string> Extras)
{
    private static readonly string[] Airports = ["ARN", "LIS", "CDG", "FRA", "MAD", "OSL", "CPH", "AMS"];
    private static readonly string[] Fares = ["economy", "economy-flex", "business"];
    private static readonly IReadOnlyList<string> ExtrasOf = ["checked-bag", "seat-selection"];

    /// <summary>The <paramref name="i"/>th booking; deterministic, so every run sends the same bytes.</summary>
    public static BookingConfirmed Sample(int i) => new(
        BookingId: string.Create(CultureInfo.InvariantCulture, $"BK-2026-{i:D9}"),
        CustomerId: string.Create(CultureInfo.InvariantCulture, $"cust-{(i * 7919L) % 1_000_000:D6}-{i % 97:D2}"),
        FlightNumber: string.Create(CultureInfo.InvariantCulture, $"TW{1000 + (i % 9000)}"),
        Origin: Airports[i % Airports.Length],
        Destination: Airports[(i + 3) % Airports.Length],
        DepartureUtc: new DateTimeOffset(2026, 12, 1, 8, 45, 0, TimeSpan.Zero).AddMinutes(i % 100_000),
        Passengers: 1 + (i % 4),
        FareClass: Fares[i % Fares.Length],
        TotalAmount: 129.90m + (i % 500),
        Currency: "EUR",
        SalesChannel: "web",
        ContactEmail: string.Create(CultureInfo.InvariantCulture, $"traveller{i % 100_000}@example.com"),
        Extras: ExtrasOf);
}
