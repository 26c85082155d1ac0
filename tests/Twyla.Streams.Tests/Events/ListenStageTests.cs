using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Akka.TestKit.Xunit2;
using Microsoft.Extensions.Logging.Abstractions;
using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Twyla.Streams.Transport;
using Xunit;

namespace Twyla.Streams.Tests.Events;

/// <summary>The listen stage's ack bookkeeping, against a transport session that records every call.</summary>
public sealed class ListenStageTests : TestKit
{
    private readonly RecordingTransport _transport = new();

    private Source<Event<Probe>, IListenControl> Listen(int prefetch = 100, TimeSpan? ackFlushDelay = null) =>
        Source.FromGraph(new ListenStage<Probe>(
            _transport,
            ListenerTopology.Create("test.happened", "tests", QueueType.Classic),
            ackFlushDelay is { } delay
                ? ListenSettings.Default.WithPrefetch(prefetch).WithAckFlushDelay(delay)
                : ListenSettings.Default.WithPrefetch(prefetch),
            EventBusSettings.DefaultJsonOptions,
            NullLogger.Instance));

    [Fact]
    public async Task Listen_should_never_ack_past_an_unsettled_event_when_handlers_complete_out_of_order()
    {
        const int count = 400;
        var random = new Random(7);
        var (control, done) = Listen(prefetch: 64)
            .SelectAsyncUnordered(8, async e =>
            {
                await Task.Delay(random.Next(0, 3));
                _transport.Session.HandlerDone[ulong.Parse(e.Metadata.Id[3..])] = true;
                await e.AckAsync();
                return e;
            })
            .Take(count)
            .ToMaterialized(Sink.Seq<Event<Probe>>(), Keep.Both)
            .Run(Sys.Materializer());

        for (ulong tag = 1; tag <= count; tag++)
        {
            await _transport.DeliverAsync(tag);
        }

        var events = await done.WaitAsync(TimeSpan.FromSeconds(20));
        await control.Completion.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(count, events.Select(e => e.Payload.N).Distinct().Count());
        Assert.Empty(_transport.Session.Violations);
        Assert.Equal(count, _transport.Session.SettledTags().Count);
        Assert.Contains(_transport.Session.Calls, c => c.EndsWith("multiple", StringComparison.Ordinal));
        Assert.True(
            _transport.Session.Calls.Count(c => c.StartsWith("ack", StringComparison.Ordinal)) < count / 2,
            "acks should be batched: " + string.Join(", ", _transport.Session.Calls.Take(20)));
        Assert.Equal("close", _transport.Session.Calls.Last());
    }

    [Fact]
    public async Task Listen_should_batch_acks_when_each_event_is_handled_before_the_next_one_arrives()
    {
        // A steady trickle: every event is acked before the next is delivered, so nothing emitted is ever pending.
        // Acks still wait for their batch (prefetch 100: 25) or the flush delay (here far away), not one per event.
        var probe = Listen(prefetch: 100, ackFlushDelay: TimeSpan.FromMinutes(5)).RunWith(this.SinkProbe<Event<Probe>>(), Sys.Materializer());
        for (ulong tag = 1; tag <= 30; tag++)
        {
            probe.Request(1);
            await _transport.DeliverAsync(tag);
            await probe.ExpectNext().AckAsync();
            if (tag < 25)
            {
                Assert.DoesNotContain(_transport.Session.Calls, c => c.StartsWith("ack", StringComparison.Ordinal));
            }
        }

        AwaitAssert(() => Assert.Equal(["ack 25 multiple"], _transport.Session.Calls.ToArray()));

        // The rest goes out when the listener stops: after the consumer is cancelled, before the session closes.
        probe.Cancel();
        AwaitAssert(() => Assert.Equal(["ack 25 multiple", "stop", "ack 30 multiple", "close"], _transport.Session.Calls.ToArray()));
    }

    [Fact]
    public async Task Listen_should_send_a_lone_ack_after_the_flush_delay()
    {
        var probe = Listen(prefetch: 100, ackFlushDelay: TimeSpan.FromMilliseconds(200)).RunWith(this.SinkProbe<Event<Probe>>(), Sys.Materializer());
        probe.Request(1);
        await _transport.DeliverAsync(1);
        await probe.ExpectNext().AckAsync();

        Assert.Empty(_transport.Session.Calls);
        AwaitAssert(() => Assert.Equal(["ack 1 multiple"], _transport.Session.Calls.ToArray()), TimeSpan.FromSeconds(5));
        probe.Cancel();
    }

    [Fact]
    public async Task Listen_should_send_a_reject_before_an_ack_that_passes_its_tag()
    {
        var probe = Listen().RunWith(this.SinkProbe<Event<Probe>>(), Sys.Materializer());
        probe.Request(3);
        for (ulong tag = 1; tag <= 3; tag++)
        {
            await _transport.DeliverAsync(tag);
        }

        var first = probe.ExpectNext();
        var second = probe.ExpectNext();
        var third = probe.ExpectNext();
        await third.AckAsync();
        await second.RejectAsync();
        await first.AckAsync();

        AwaitAssert(() => Assert.Equal(["reject 2 after 1000 ms: rejected", "ack 3 multiple"], _transport.Session.Calls.ToArray()));
        Assert.True(second.IsSettled);
        probe.Cancel();
    }

    [Fact]
    public async Task Listen_should_drop_an_invalid_payload_naming_the_member_and_keep_running()
    {
        var probe = Listen().RunWith(this.SinkProbe<Event<Probe>>(), Sys.Materializer());
        probe.Request(2);
        await _transport.DeliverAsync(1, """{"n":"not a number"}""");
        await _transport.DeliverAsync(2, """{"n":2}""");

        var valid = probe.ExpectNext();
        Assert.Equal(2, valid.Payload.N);
        var drop = Assert.Single(_transport.Session.Calls, c => c.StartsWith("drop 1", StringComparison.Ordinal));
        Assert.Contains("$.n", drop, StringComparison.Ordinal);
        probe.Cancel();
    }

    [Fact]
    public async Task Settling_should_be_a_no_op_the_second_time()
    {
        var probe = Listen().RunWith(this.SinkProbe<Event<Probe>>(), Sys.Materializer());
        probe.Request(1);
        await _transport.DeliverAsync(1);
        var e = probe.ExpectNext();

        await e.AckAsync();
        await e.DropAsync("too late");
        await e.RejectAsync();

        AwaitAssert(() => Assert.Equal(["ack 1 multiple"], _transport.Session.Calls.ToArray()));
        probe.Cancel();
    }

    [Fact]
    public async Task Shutdown_should_close_the_session_and_fail_later_settlements_fast()
    {
        var (control, probe) = Listen().ToMaterialized(this.SinkProbe<Event<Probe>>(), Keep.Both).Run(Sys.Materializer());
        probe.Request(1);
        await _transport.DeliverAsync(1);
        var e = probe.ExpectNext();

        await control.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(5));
        probe.ExpectComplete();

        var settle = e.AckAsync();
        var error = await Assert.ThrowsAsync<EventSettlementException>(() => settle.WaitAsync(TimeSpan.FromSeconds(1)));
        Assert.Contains("stopped", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(_transport.Session.Calls, c => c.StartsWith("ack", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_listener_shut_down_while_its_consumer_is_starting_should_close_the_consumer_once_it_started()
    {
        _transport.StartGate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var (control, _) = Listen()
            .ToMaterialized(Sink.Ignore<Event<Probe>>(), Keep.Both)
            .Run(Sys.Materializer());
        await _transport.StartRequested.WaitAsync(TimeSpan.FromSeconds(10));

        // The stop is taken by the stage (a drain while starting closes at once) before the slow connect finishes.
        await control.BeginDrainAsync().WaitAsync(TimeSpan.FromSeconds(10));
        _transport.StartGate.SetResult();

        await _transport.Session.Closed.WaitAsync(TimeSpan.FromSeconds(10));
        await control.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => control.Ready); // it never consumed
    }
}
