using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Twyla.Streams.Events;
using Xunit;

namespace Twyla.Streams.TestKit.Tests.Events;

/// <summary>Hand-built events: a handler, ack on completion and a user flow tested without a bus.</summary>
public sealed class TestEventTests : Akka.TestKit.Xunit2.TestKit
{
    [Fact]
    public async Task A_new_event_should_be_a_first_delivery_that_starts_its_chain()
    {
        var evt = TestEvent.Create("booking.requested", new BookingRequested("A1", 2));

        Assert.Equal("booking.requested", evt.Event.Name);
        Assert.Equal(new BookingRequested("A1", 2), evt.Event.Payload);
        Assert.Equal(1, evt.Event.DeliveryCount);
        Assert.False(evt.Event.Redelivered);
        Assert.Null(evt.Event.LastFailure);
        Assert.True(evt.Metadata.IsChainStart);
        Assert.Equal(evt.Metadata.Id, evt.Metadata.CorrelationId);
        Assert.Null(evt.Settlement);

        // A derived event carries the chain on, as with a delivered event.
        var derived = evt.Event.Derive("booking.confirmed", new BookingConfirmed("A1", "Ada"));
        var emitted = await RoundTripAsync(derived);
        Assert.Equal(evt.Metadata.CorrelationId, emitted.CorrelationId);
        Assert.Equal(evt.Metadata.Id, emitted.CausationId);
    }

    [Fact]
    public void With_methods_should_set_the_delivery_the_handler_sees()
    {
        var evt = TestEvent.Create("booking.requested", new BookingRequested("A1", 2))
            .WithDeliveryCount(3)
            .WithLastFailure("TimeoutException: navitaire did not answer")
            .WithCorrelationId("chain-1")
            .WithCausationId("cause-1");

        Assert.Equal(3, evt.Event.DeliveryCount);
        Assert.True(evt.Event.Redelivered);
        Assert.Equal("TimeoutException: navitaire did not answer", evt.Event.LastFailure);
        Assert.Equal("chain-1", evt.Metadata.CorrelationId);
        Assert.Equal("cause-1", evt.Metadata.CausationId);
        Assert.False(evt.WithRedelivered(false).Event.Redelivered);
    }

    [Fact]
    public async Task A_handler_that_drops_should_be_seen_dropped_with_its_reason()
    {
        var evt = TestEvent.Create("booking.requested", new BookingRequested("UNKNOWN", 2));

        await DropUnknownAsync(evt.Event);

        Assert.Equal("no booking UNKNOWN", evt.ExpectDropped());
        Assert.Equal(new EventSettlement(SettleKind.Drop, "no booking UNKNOWN"), evt.Settlement);
        var wrong = Assert.Throws<TwylaAssertionException>(() => evt.ExpectAcked());
        Assert.Contains("to be acked, but it was dropped: no booking UNKNOWN", wrong.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_first_settlement_should_count_as_with_a_listener()
    {
        var evt = TestEvent.Create("booking.requested", new BookingRequested("A1", 2));
        evt.ExpectNotSettled();

        await evt.Event.AckAsync();
        await evt.Event.DropAsync("too late");

        evt.ExpectAcked();
        Assert.Throws<TwylaAssertionException>(evt.ExpectNotSettled);
    }

    [Fact]
    public void Expecting_a_settlement_that_never_comes_should_fail_after_the_timeout()
    {
        var evt = TestEvent.Create("booking.requested", new BookingRequested("A1", 2));

        var failure = Assert.Throws<TwylaAssertionException>(() => evt.ExpectRejected(TimeSpan.FromMilliseconds(50)));

        Assert.Contains("to be rejected within", failure.Message, StringComparison.Ordinal);
        Assert.Contains("it was not settled", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ack_on_completion_should_ack_reject_and_drop_hand_built_events_from_a_test_source()
    {
        var ok = TestEvent.Create("booking.requested", new BookingRequested("A1", 2));
        var failingFirst = TestEvent.Create("booking.requested", new BookingRequested("FAIL", 1));
        var failingLast = TestEvent.Create("booking.requested", new BookingRequested("FAIL", 1)).WithDeliveryCount(3);
        var settings = AckOnCompletionSettings.Default.WithMaxDeliveries(3);

        var (source, sink) = this.SourceProbe<Event<BookingRequested>>()
            .Via(AckOnCompletion.Flow<BookingRequested>(
                e => e.Payload.Pnr == "FAIL" ? throw new InvalidOperationException("navitaire is down") : Task.CompletedTask,
                settings))
            .ToMaterialized(this.SinkProbe<HandledEvent>(), Keep.Both)
            .Run(Sys.Materializer());

        sink.Request(3);
        source.SendNext(ok.Event);
        Assert.Equal(SettleKind.Ack, sink.ExpectNext().Settlement);
        source.SendNext(failingFirst.Event);
        Assert.Equal(SettleKind.Reject, sink.ExpectNext().Settlement);
        source.SendNext(failingLast.Event);
        Assert.Equal(SettleKind.Drop, sink.ExpectNext().Settlement);
        source.SendComplete();
        sink.ExpectComplete();

        ok.ExpectAcked();
        Assert.Equal("InvalidOperationException: navitaire is down", failingFirst.ExpectRejected());
        Assert.Equal("handler failed on delivery 3 of 3: InvalidOperationException: navitaire is down", failingLast.ExpectDropped());
    }

    [Fact]
    public void A_user_flow_should_be_tested_with_hand_built_events_and_their_settlements()
    {
        // A flow that passes on the bookings it can handle and drops the others itself.
        var flow = Flow.Create<Event<BookingRequested>>()
            .SelectAsync(1, async e =>
            {
                if (e.Payload.Seats > 9)
                {
                    await e.DropAsync($"{e.Payload.Seats} seats is more than a booking can hold");
                }

                return e;
            })
            .Where(e => !e.IsSettled);
        var small = TestEvent.Create("booking.requested", new BookingRequested("A1", 2));
        var large = TestEvent.Create("booking.requested", new BookingRequested("A2", 12));

        var handled = Source.From([small.Event, large.Event])
            .Via(AckOnCompletion.FromFlow(flow, AckOnCompletionSettings.Default))
            .RunWith(this.SinkProbe<HandledEvent>(), Sys.Materializer());

        Assert.Equal(small.Metadata.Id, handled.RequestNext().Metadata.Id);
        handled.Request(1);
        handled.ExpectComplete();
        small.ExpectAcked();
        Assert.Equal("12 seats is more than a booking can hold", large.ExpectDropped());
    }

    [Fact]
    public async Task A_cancellation_token_should_reach_the_handler()
    {
        using var stopping = new CancellationTokenSource();
        var evt = TestEvent.Create("booking.requested", new BookingRequested("A1", 2)).WithCancellationToken(stopping.Token);
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var handling = Task.Run(async () =>
        {
            started.SetResult();
            await Task.Delay(Timeout.Infinite, evt.Event.CancellationToken);
        });
        await started.Task;
        await stopping.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => handling.WaitAsync(TimeSpan.FromSeconds(5)));
        evt.ExpectNotSettled();
    }

    private static Task DropUnknownAsync(Event<BookingRequested> e) =>
        e.Payload.Pnr == "UNKNOWN" ? e.DropAsync($"no booking {e.Payload.Pnr}") : e.AckAsync();

    private static async Task<EventMetadata> RoundTripAsync<T>(Twyla.Streams.Emit.OutgoingEvent<T> outgoing)
    {
        await using var bus = EventBus.InMemory(EventBusSettings.Create("tests"));
        return await bus.EmitAsync(outgoing);
    }
}
