namespace Twyla.Streams.TestKit.Tests;

public sealed record BookingRequested(string Pnr, int Seats);

public sealed record BookingConfirmed(string Pnr, string Passenger);

public sealed record GetBooking(string Pnr);

public sealed record BookingDetails(string Pnr, string Passenger);
