using Akka.Streams.TestKit;
using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Emit;

/// <summary>EmitAsync with a cancellation token: nothing emitted when cancelled before, a clear "maybe" when cancelled while waiting.</summary>
public sealed class EmitAsyncCancellationTests : BusTestKit
{
    [Fact]
    public async Task EmitAsync_with_a_cancelled_token_should_throw_and_emit_nothing()
    {
        await Bus.DeclareGroupAsync("booking.requested", "cancel", ListenSettings.Default, CancellationToken.None);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => Bus.EmitAsync("booking.requested", new BookingRequested("GONE", 1), cancelled.Token));
        var next = await Bus.EmitAsync("booking.requested", new BookingRequested("NEXT", 2), CancellationToken.None);

        var probe = Bus.Listen<BookingRequested>("booking.requested", "cancel").RunWith(this.SinkProbe<Event<BookingRequested>>(), Materializer);
        probe.Request(2);
        var first = probe.ExpectNext();
        Assert.Equal(next.Id, first.Metadata.Id);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        probe.Cancel();
    }

    [Fact]
    public async Task EmitAsync_cancelled_while_waiting_for_the_confirm_should_say_the_event_may_have_been_emitted()
    {
        var transport = new SilentBrokerTransport(Timeout.InfiniteTimeSpan);
        await using var bus = new EventBus(transport, EventBusSettings.Create("booking-api"));
        using var cts = new CancellationTokenSource();

        var emit = bus.EmitAsync("booking.created", new Probe(1), cts.Token);
        await AwaitConditionAsync(() => Task.FromResult(transport.Publisher.Published == 1), TimeSpan.FromSeconds(10)); // now it waits for the confirm
        await cts.CancelAsync();
        var error = await Assert.ThrowsAnyAsync<OperationCanceledException>(() => emit.WaitAsync(TimeSpan.FromSeconds(10)));

        Assert.Contains("booking.created", error.Message, StringComparison.Ordinal);
        Assert.Contains("may or may not have been emitted", error.Message, StringComparison.Ordinal);
        Assert.Equal(cts.Token, error.CancellationToken);
        Assert.Equal(1, transport.Publisher.Published);
    }
}
