using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Twyla.Streams.Emit;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Emit;

/// <summary>The emit stage's confirm timeout against a publisher that never confirms (the session does not time out itself).</summary>
public sealed class EmitConfirmTimeoutTests : TestKit
{
    [Fact]
    public async Task An_emit_the_broker_never_confirms_should_fail_the_stream_naming_the_event_and_close_the_publisher()
    {
        var transport = new SilentBrokerTransport(TimeSpan.FromMilliseconds(300));
        await using var bus = new EventBus(transport, EventBusSettings.Create("booking-api"));

        var done = Source.Single(new Probe(1)).RunWith(bus.Emit<Probe>("booking.created", EmitSettings.Create(8)), Sys.Materializer());

        var error = await Assert.ThrowsAsync<EmitException>(() => done.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("booking.created", error.Message, StringComparison.Ordinal);
        Assert.Contains("was not confirmed by the broker within 00:00:00.3", error.Message, StringComparison.Ordinal);
        Assert.Equal(1, transport.Publisher.Published);
        await transport.Publisher.Disposed.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task EmitAsync_should_use_the_transports_confirm_timeout_too()
    {
        var transport = new SilentBrokerTransport(TimeSpan.FromMilliseconds(300));
        await using var bus = new EventBus(transport, EventBusSettings.Create("booking-api"));

        var error = await Assert.ThrowsAsync<EmitException>(() => bus.EmitAsync("booking.created", new Probe(1)).WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("was not confirmed by the broker within 00:00:00.3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EmitAndConfirmAsync_should_wait_for_the_confirm_and_fail_as_EmitAsync_does_when_none_comes()
    {
        var transport = new SilentBrokerTransport(TimeSpan.FromMilliseconds(300));
        await using var bus = new EventBus(transport, EventBusSettings.Create("booking-api"));

        var emit = bus.EmitAndConfirmAsync(OutgoingEvent.Create("booking.created", new Probe(1)));

        var error = await Assert.ThrowsAsync<EmitException>(() => emit.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Matches("^Event [0-9a-f-]{36} \\(booking.created\\) was not confirmed by the broker within 00:00:00.3", error.Message);
        Assert.Equal(1, transport.Publisher.Published);
    }
}
