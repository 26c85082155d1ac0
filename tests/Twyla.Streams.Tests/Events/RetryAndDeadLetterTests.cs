using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Events;

/// <summary>
/// On the in-memory bus, which has RabbitMQ's semantics: delayed retries, what a handler settled itself, handler
/// cancellation, listener failures, and the dead-letter operations (count, pages, replay, purge).
/// </summary>
public sealed class RetryAndDeadLetterTests : BusTestKit
{
    [Fact]
    public async Task A_failing_event_should_come_back_only_after_the_retry_delay_of_its_delivery()
    {
        var delays = new[] { TimeSpan.FromMilliseconds(200), TimeSpan.FromMilliseconds(400) };
        var settings = ListenSettings.Default.WithRetryDelays(delays);
        await Bus.DeclareGroupAsync("booking.requested", "slow-retry", settings);
        await EmitAsync(1);
        var seen = new ConcurrentQueue<(int Delivery, long At)>();
        var clock = Stopwatch.StartNew();

        var (control, outcomes) = Bus.Listen<BookingRequested>("booking.requested", "slow-retry", settings)
            .Via(AckOnCompletion.Flow<BookingRequested>(
                e =>
                {
                    seen.Enqueue((e.DeliveryCount, clock.ElapsedMilliseconds));
                    return e.DeliveryCount < 3 ? Task.FromException(new TimeoutException("downstream restarting")) : Task.CompletedTask;
                },
                AckOnCompletionSettings.Default))
            .Take(3)
            .ToMaterialized(Sink.Seq<HandledEvent>(), Keep.Both)
            .Run(Materializer);

        var done = await outcomes.WaitAsync(TimeSpan.FromSeconds(20));
        await control.Completion.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal([SettleKind.Reject, SettleKind.Reject, SettleKind.Ack], done.Select(h => h.Settlement));
        var at = seen.ToArray();
        Assert.Equal([1, 2, 3], at.Select(s => s.Delivery));
        // Lower bounds only (timers never fire early); how much later is up to the machine.
        Assert.True(at[1].At - at[0].At >= 190, $"second delivery {at[1].At - at[0].At} ms after the first");
        Assert.True(at[2].At - at[1].At >= 390, $"third delivery {at[2].At - at[1].At} ms after the second");
    }

    [Fact]
    public async Task An_event_the_handler_dropped_itself_should_be_reported_as_dropped_not_acked()
    {
        await Bus.DeclareGroupAsync("booking.requested", "by-hand", ListenSettings.Default);
        await EmitAsync(2);

        var outcomes = await Bus.Listen<BookingRequested>("booking.requested", "by-hand")
            .Via(AckOnCompletion.Flow<BookingRequested>(
                async e =>
                {
                    if (e.Payload.Pnr == "PNR0000")
                    {
                        await e.DropAsync("cancelled booking, nothing to do");
                    }
                },
                AckOnCompletionSettings.Default))
            .Take(2)
            .RunWith(Sink.Seq<HandledEvent>(), Materializer)
            .WaitAsync(TimeSpan.FromSeconds(10));

        var dropped = Assert.Single(outcomes, h => h.Settlement == SettleKind.Drop);
        Assert.Equal("cancelled booking, nothing to do", dropped.Reason);
        Assert.Single(outcomes, h => h.Settlement == SettleKind.Ack);
        Assert.Equal(1, await Bus.CountDeadLettersAsync("booking.requested", "by-hand"));
    }

    [Fact]
    public async Task A_handler_cut_short_by_the_drain_timeout_should_see_its_cancellation_token_fire()
    {
        var settings = ListenSettings.Default.WithDrainTimeout(TimeSpan.FromMilliseconds(200));
        await Bus.DeclareGroupAsync("booking.requested", "cut-short", settings);
        await EmitAsync(1);
        var started = new TaskCompletionSource<Event<BookingRequested>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var (control, _) = Bus.Listen<BookingRequested>("booking.requested", "cut-short", settings)
            .Via(AckOnCompletion.Flow<BookingRequested>(
                async e =>
                {
                    started.TrySetResult(e);
                    try
                    {
                        await Task.Delay(Timeout.Infinite, e.CancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        cancelled.TrySetResult();
                        throw;
                    }
                },
                AckOnCompletionSettings.Default))
            .ToMaterialized(Sink.Ignore<HandledEvent>(), Keep.Both)
            .Run(Materializer);

        var running = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(running.CancellationToken.IsCancellationRequested);
        await control.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // The event was not settled: it is still there for the next listener of the group.
        var probe = Bus.Listen<BookingRequested>("booking.requested", "cut-short").RunWith(this.SinkProbe<Event<BookingRequested>>(), Materializer);
        var again = probe.Request(1).ExpectNext(TimeSpan.FromSeconds(10));
        Assert.Equal(running.Metadata.Id, again.Metadata.Id);
        probe.Cancel();
    }

    [Fact]
    public async Task A_handler_cut_short_by_a_shutdown_should_see_its_cancellation_token_fire()
    {
        // What a hosted listener does when the host's shutdown timeout passes (or the host is stopped hard): ShutdownAsync.
        await Bus.DeclareGroupAsync("booking.requested", "shut-down", ListenSettings.Default);
        await EmitAsync(1);
        var started = new TaskCompletionSource<Event<BookingRequested>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var (control, _) = Bus.Listen<BookingRequested>("booking.requested", "shut-down")
            .Via(AckOnCompletion.Flow<BookingRequested>(
                async e =>
                {
                    started.TrySetResult(e);
                    try
                    {
                        await Task.Delay(Timeout.Infinite, e.CancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        cancelled.TrySetResult();
                        throw;
                    }
                },
                AckOnCompletionSettings.Default))
            .ToMaterialized(Sink.Ignore<HandledEvent>(), Keep.Both)
            .Run(Materializer);

        var running = await started.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.False(running.CancellationToken.IsCancellationRequested);
        await control.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(10));
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Not settled: still there for the next listener of the group.
        var probe = Bus.Listen<BookingRequested>("booking.requested", "shut-down").RunWith(this.SinkProbe<Event<BookingRequested>>(), Materializer);
        var again = probe.Request(1).ExpectNext(TimeSpan.FromSeconds(10));
        Assert.Equal(running.Metadata.Id, again.Metadata.Id);
        probe.Cancel();
    }

    [Fact]
    public async Task A_listener_whose_bus_is_disposed_should_fail_with_ListenException_naming_its_queue()
    {
        var bus = EventBus.InMemory(EventBusSettings.Create("tests"));
        var probe = bus.Listen<BookingRequested>("booking.requested", "disposed")
            .ToMaterialized(this.SinkProbe<Event<BookingRequested>>(), Keep.Both)
            .Run(Materializer);
        probe.Item2.Request(1);
        await bus.DeclareGroupAsync("booking.requested", "disposed", ListenSettings.Default);
        await bus.DisposeAsync();

        var failure = await Assert.ThrowsAsync<ListenException>(() => probe.Item1.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("booking.requested.disposed", failure.Message, StringComparison.Ordinal);
        Assert.IsType<ListenException>(probe.Item2.ExpectError());
    }

    [Fact]
    public async Task Dead_letters_should_be_counted_paged_replayed_with_their_ids_and_purged()
    {
        const string pattern = "booking.requested";
        const string group = "dead";
        await Bus.DeclareGroupAsync(pattern, group, ListenSettings.Default);
        await EmitAsync(25);

        // Drop every event by hand.
        await Bus.Listen<BookingRequested>(pattern, group)
            .Via(AckOnCompletion.Flow<BookingRequested>(e => e.DropAsync($"bad {e.Payload.Pnr}"), AckOnCompletionSettings.Create(4)))
            .Take(25)
            .RunWith(Sink.Ignore<HandledEvent>(), Materializer)
            .WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(25, await Bus.CountDeadLettersAsync(pattern, group));
        var page1 = await Bus.ListDeadLettersAsync(pattern, group, 0, 10, CancellationToken.None);
        var page3 = await Bus.ListDeadLettersAsync(pattern, group, 20, 10, CancellationToken.None);
        Assert.Equal(10, page1.Count);
        Assert.Equal(5, page3.Count);
        Assert.Equal("bad PNR0000", page1[0].Reason);
        Assert.Equal("bad PNR0024", page3[^1].Reason);
        Assert.All(page1, d => Assert.Equal(1, d.DeliveryCount));
        Assert.All(page1, d => Assert.NotNull(d.DeadLetteredAt));

        // Replay one by id, then a filter; the rest stay, in order.
        var one = page1[3];
        Assert.True(await Bus.ReplayDeadLetterAsync(pattern, group, one.EventId!, CancellationToken.None));
        // PNR0001, 0002, 0011, 0012, 0021, 0022
        Assert.Equal(6, await Bus.ReplayDeadLettersAsync(pattern, group, d => d.Reason.EndsWith('1') || d.Reason.EndsWith('2'), CancellationToken.None));
        Assert.Equal(18, await Bus.CountDeadLettersAsync(pattern, group));

        var replayed = await Bus.Listen<BookingRequested>(pattern, group)
            .Via(AckOnCompletion.Flow<BookingRequested>(_ => Task.CompletedTask, AckOnCompletionSettings.Default))
            .Take(7)
            .RunWith(Sink.Seq<HandledEvent>(), Materializer)
            .WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(replayed, h => h.Metadata.Id == one.EventId && h.Metadata.CorrelationId == one.Metadata!.CorrelationId);
        Assert.All(replayed, h => Assert.Equal(1, h.DeliveryCount)); // a replay starts over as a first delivery

        Assert.Equal(18, await Bus.PurgeDeadLettersAsync(pattern, group, CancellationToken.None));
        Assert.Equal(0, await Bus.CountDeadLettersAsync(pattern, group));
        Assert.Empty(await Bus.PeekDeadLettersAsync(pattern, group));
    }

    [Fact]
    public async Task A_replayed_event_that_fails_again_should_show_its_replay_count_in_the_dead_letters()
    {
        const string pattern = "booking.requested";
        const string group = "replay-twice";
        await Bus.DeclareGroupAsync(pattern, group, ListenSettings.Default);
        await EmitAsync(1);
        var dropAll = AckOnCompletion.Flow<BookingRequested>(e => e.DropAsync("still bad"), AckOnCompletionSettings.Default);

        await Bus.Listen<BookingRequested>(pattern, group).Via(dropAll).Take(1).RunWith(Sink.Ignore<HandledEvent>(), Materializer).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(1, await Bus.ReplayDeadLettersAsync(pattern, group, CancellationToken.None));
        await Bus.Listen<BookingRequested>(pattern, group).Via(dropAll).Take(1).RunWith(Sink.Ignore<HandledEvent>(), Materializer).WaitAsync(TimeSpan.FromSeconds(10));

        var dead = Assert.Single(await Bus.PeekDeadLettersAsync(pattern, group));
        Assert.Equal(1, dead.ReplayCount);
    }

    [Fact]
    public void Retry_delays_should_be_validated_with_a_message_that_says_the_rule()
    {
        var negative = Assert.Throws<ArgumentException>(() => ListenSettings.Default.WithRetryDelays([TimeSpan.FromSeconds(-1)]));
        Assert.Contains("0 to 24 hours", negative.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => ListenSettings.Default.WithRetryDelays(Enumerable.Repeat(TimeSpan.FromSeconds(1), 11)));
        Assert.Throws<ArgumentException>(() => ListenSettings.Default.WithRetryDelays([TimeSpan.FromTicks(1)]));
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30)], ListenSettings.Default.RetryDelays);
        Assert.Empty(ListenSettings.Default.WithRetryDelays([]).RetryDelays);
    }
}
