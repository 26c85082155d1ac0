namespace Twyla.Streams.Hosting.Tests.Infrastructure;

public sealed record Booking(string Id, int N);
