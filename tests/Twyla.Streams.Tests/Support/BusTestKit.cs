using Akka.Streams;
using Akka.TestKit.Xunit2;
using Xunit;

namespace Twyla.Streams.Tests.Support;

/// <summary>A TestKit with an in-memory bus, disposed after each test.</summary>
public abstract class BusTestKit : TestKit, IAsyncLifetime
{
    protected BusTestKit()
    {
        Bus = EventBus.InMemory(EventBusSettings.Create("tests"));
        Materializer = Sys.Materializer();
    }

    protected EventBus Bus { get; }

    protected IMaterializer Materializer { get; }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await Bus.DisposeAsync();
    }

    protected async Task EmitAsync(int count, string name = "booking.requested", int offset = 0)
    {
        for (var i = 0; i < count; i++)
        {
            await Bus.EmitAsync(name, new BookingRequested($"PNR{offset + i:D4}", 1 + ((offset + i) % 4)));
        }
    }
}

/// <summary>The contract the tests use: both members required (constructor parameters).</summary>
public sealed record BookingRequested(string Pnr, int Seats);

public sealed record BookingConfirmed(string Pnr);
