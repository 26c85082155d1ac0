using System.Collections.Concurrent;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Events;

/// <summary>Listening on the in-memory bus: backpressure, groups, competing consumers, drain and stop.</summary>
public sealed class ListenTests : BusTestKit
{
    [Fact]
    public async Task Listen_should_hold_no_more_than_prefetch_unsettled_events()
    {
        await Bus.DeclareGroupAsync("booking.requested", "slow", ListenSettings.Default);
        await EmitAsync(20);
        var probe = Bus.Listen<BookingRequested>("booking.requested", "slow", ListenSettings.Default.WithPrefetch(5))
            .RunWith(this.SinkProbe<Event<BookingRequested>>(), Materializer);

        probe.Request(20);
        var first = probe.ExpectNextN(5).ToList();
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300)); // the slow handler holds all five: nothing more arrives

        await first[0].AckAsync();
        probe.ExpectNext();
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
        probe.Cancel();
    }

    [Fact]
    public async Task Two_groups_should_each_get_every_event()
    {
        await Bus.DeclareGroupAsync("booking.*", "billing", ListenSettings.Default);
        await Bus.DeclareGroupAsync("booking.requested", "audit", ListenSettings.Default);
        await EmitAsync(50);

        var billing = await TakeAsync("booking.*", "billing", 50);
        var audit = await TakeAsync("booking.requested", "audit", 50);

        Assert.Equal(50, billing.Distinct().Count());
        Assert.Equal(billing.Order(), audit.Order());
    }

    [Fact]
    public async Task Two_listeners_in_one_group_should_split_the_events_without_duplicates_or_gaps()
    {
        const int count = 200;
        var seen = new ConcurrentBag<string>();
        var handler = AckOnCompletion.Sink<BookingRequested>(
            e =>
            {
                seen.Add(e.Payload.Pnr);
                return Task.CompletedTask;
            },
            AckOnCompletionSettings.Create(4));
        var settings = ListenSettings.Default.WithPrefetch(10);
        var a = Bus.Listen<BookingRequested>("booking.requested", "confirmer", settings).ToMaterialized(handler, Keep.Left).Run(Materializer);
        var b = Bus.Listen<BookingRequested>("booking.requested", "confirmer", settings).ToMaterialized(handler, Keep.Left).Run(Materializer);
        await Bus.DeclareGroupAsync("booking.requested", "confirmer", ListenSettings.Default);

        await EmitAsync(count);
        AwaitCondition(() => seen.Count >= count, TimeSpan.FromSeconds(10));
        await Task.WhenAll(a.DrainAsync(), b.DrainAsync()).WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(count, seen.Count);
        Assert.Equal(count, seen.Distinct().Count());
    }

    [Fact]
    public async Task Drain_should_let_in_flight_events_finish_and_leave_undelivered_events_queued()
    {
        await Bus.DeclareGroupAsync("booking.requested", "drainers", ListenSettings.Default);
        await EmitAsync(10);
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var started = new ConcurrentBag<string>();
        var handled = new ConcurrentBag<string>();
        var (control, outcomes) = Bus.Listen<BookingRequested>("booking.requested", "drainers", ListenSettings.Default.WithPrefetch(3))
            .Via(AckOnCompletion.Flow<BookingRequested>(
                async e =>
                {
                    started.Add(e.Payload.Pnr);
                    await gate.Task;
                    handled.Add(e.Payload.Pnr);
                },
                AckOnCompletionSettings.Create(3)))
            .ToMaterialized(Sink.Seq<HandledEvent>(), Keep.Both)
            .Run(Materializer);
        AwaitCondition(() => started.Count == 3, TimeSpan.FromSeconds(5));

        var drained = control.DrainAsync();
        Assert.False(drained.IsCompleted, "the drain waits for the events in flight");
        gate.SetResult();
        await drained.WaitAsync(TimeSpan.FromSeconds(5));

        var done = await outcomes.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.Equal(3, done.Count);
        Assert.All(done, h => Assert.Equal(SettleKind.Ack, h.Settlement));
        var rest = await TakeAsync("booking.requested", "drainers", 7);
        Assert.Empty(rest.Intersect(handled));
        Assert.Equal(10, rest.Concat(handled).Distinct().Count());
    }

    [Fact]
    public async Task Settling_after_shutdown_should_fail_within_a_second_and_the_event_should_come_back()
    {
        await Bus.DeclareGroupAsync("booking.requested", "stoppers", ListenSettings.Default);
        await EmitAsync(1);
        var (control, probe) = Bus.Listen<BookingRequested>("booking.requested", "stoppers")
            .ToMaterialized(this.SinkProbe<Event<BookingRequested>>(), Keep.Both)
            .Run(Materializer);
        probe.Request(1);
        var e = probe.ExpectNext();

        await control.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(5));

        var error = await Assert.ThrowsAsync<EventSettlementException>(() => e.AckAsync().WaitAsync(TimeSpan.FromSeconds(1)));
        Assert.Contains(e.Metadata.Id, error.Message, StringComparison.Ordinal);
        Assert.Contains("stopped", error.Message, StringComparison.Ordinal);

        var again = Bus.Listen<BookingRequested>("booking.requested", "stoppers").RunWith(this.SinkProbe<Event<BookingRequested>>(), Materializer);
        again.Request(1);
        var redelivered = again.ExpectNext();
        Assert.Equal(e.Metadata.Id, redelivered.Metadata.Id);
        Assert.True(redelivered.Redelivered);
        again.Cancel();
    }

    [Fact]
    public async Task Settling_after_the_bus_is_disposed_should_fail_fast()
    {
        await Bus.DeclareGroupAsync("booking.requested", "disposers", ListenSettings.Default);
        await EmitAsync(1);
        var (control, probe) = Bus.Listen<BookingRequested>("booking.requested", "disposers")
            .ToMaterialized(this.SinkProbe<Event<BookingRequested>>(), Keep.Both)
            .Run(Materializer);
        probe.Request(1);
        var e = probe.ExpectNext();

        await Bus.DisposeAsync();
        probe.ExpectError();
        await Assert.ThrowsAnyAsync<Exception>(() => control.Completion.WaitAsync(TimeSpan.FromSeconds(5)));
        await Assert.ThrowsAsync<EventSettlementException>(() => e.AckAsync().WaitAsync(TimeSpan.FromSeconds(1)));
    }

    [Fact]
    public async Task Terminating_the_actor_system_should_stop_a_running_listener_and_give_its_unsettled_event_back()
    {
        // Its phase timeout is longer than the waits below: a listener that held up the termination fails the test
        // instead of being cut off after Akka's default 10 s.
        var system = ActorSystem.Create("terminated", "akka.coordinated-shutdown.phases.actor-system-terminate.timeout = 120s");
        var handling = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var control = Bus.Listen<BookingRequested>("booking.requested", "terminated")
            .To(AckOnCompletion.Sink<BookingRequested>(
                async e =>
                {
                    handling.TrySetResult(e.Metadata.Id);
                    await Task.Delay(Timeout.Infinite, e.CancellationToken);
                },
                AckOnCompletionSettings.Default))
            .Run(system.Materializer());
        await control.Ready.WaitAsync(TimeSpan.FromSeconds(10));
        await EmitAsync(1);
        var id = await handling.Task.WaitAsync(TimeSpan.FromSeconds(10));

        await system.Terminate().WaitAsync(TimeSpan.FromSeconds(30));

        var stopped = await Assert.ThrowsAsync<EventSettlementException>(() => control.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("stopped", stopped.Message, StringComparison.Ordinal);
        var again = Bus.Listen<BookingRequested>("booking.requested", "terminated").RunWith(this.SinkProbe<Event<BookingRequested>>(), Materializer);
        again.Request(1);
        var redelivered = again.ExpectNext();
        Assert.Equal(id, redelivered.Metadata.Id);
        Assert.True(redelivered.Redelivered);
        again.Cancel();
    }

    private async Task<List<string>> TakeAsync(string pattern, string group, int count)
    {
        var (control, events) = Bus.Listen<BookingRequested>(pattern, group)
            .Take(count)
            .SelectAsync(1, async e =>
            {
                await e.AckAsync();
                return e.Payload.Pnr;
            })
            .ToMaterialized(Sink.Seq<string>(), Keep.Both)
            .Run(Materializer);
        var result = await events.WaitAsync(TimeSpan.FromSeconds(10));
        await control.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        return [.. result];
    }
}
