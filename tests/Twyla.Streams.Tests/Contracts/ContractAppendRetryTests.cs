using Twyla.Streams.Contracts;
using Twyla.Streams.Testing;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Contracts;

/// <summary>
/// Storing in the contract log tries again after a failure: a sample run on RabbitMQ lost its contract when the log's
/// connection was closed by the broker (504 CHANNEL_ERROR) right as the listener announced, and discovery never saw it.
/// </summary>
public sealed class ContractAppendRetryTests
{
    private sealed record Booked(string Pnr);

    [Fact]
    public async Task A_version_record_that_fails_to_store_twice_is_stored_on_a_later_try()
    {
        var transport = new RecordingTransport { AppendFailures = 2 };
        await using var bus = new EventBus(transport, EventBusSettings.Create("booking-api"));

        // The producer's version is recorded when an emit starts; this transport cannot publish, so the emit itself fails.
        await Assert.ThrowsAsync<Twyla.Streams.Emit.EmitException>(() => bus.EmitAsync("booking.created", new Booked("A1")).WaitAsync(TimeSpan.FromSeconds(10)));

        // Bounded only against a hang: the retries wait 0.2 s, then 0.4 s (Backoff, with jitter).
        await Poll.Until(() => !transport.Appended.IsEmpty, TimeSpan.FromSeconds(20));

        var stored = Assert.Single(transport.Appended);
        Assert.Equal("booking.created", stored.EventName);
        Assert.True(BusContracts.AppendRetries >= 2);
    }
}
