using System.Collections.Concurrent;
using Twyla.Streams.Emit;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.InMemory;
using Xunit;

namespace Twyla.Streams.Tests.Transport.InMemory;

public sealed class InMemoryTransportTests : IAsyncLifetime
{
    private static readonly CancellationToken None = CancellationToken.None;

    private readonly InMemoryTransport _transport = new();
    private IPublisherSession _publisher = null!;

    public async Task InitializeAsync() => _publisher = await _transport.OpenPublisherAsync(None);

    public async Task DisposeAsync() => await _transport.DisposeAsync();

    [Fact]
    public async Task Routing_should_follow_topic_rules_for_star_and_hash()
    {
        var oneSegment = Topology("booking.*", "g");
        var anyBooking = Topology("booking.#", "g");
        var anyCancelled = Topology("#.cancelled", "g");
        foreach (var topology in new[] { oneSegment, anyBooking, anyCancelled })
        {
            await _transport.DeclareListenerAsync(topology, None);
        }

        await PublishAsync("booking.created", "booking.created.v2", "booking.cancelled", "payment.cancelled", "payment.made");
        await PublishAsync("booking.end", "end.cancelled");

        Assert.Equal(["booking.created", "booking.cancelled"], await ReceiveNamesUntilAsync(oneSegment, "booking.end"));
        Assert.Equal(
            ["booking.created", "booking.created.v2", "booking.cancelled"], await ReceiveNamesUntilAsync(anyBooking, "booking.end"));
        Assert.Equal(["booking.cancelled", "payment.cancelled"], await ReceiveNamesUntilAsync(anyCancelled, "end.cancelled"));
    }

    [Fact]
    public async Task Publish_should_give_every_group_every_event()
    {
        var billing = Topology("booking.created", "billing");
        var audit = Topology("booking.created", "audit");
        var billingTarget = new RecordingTarget();
        var auditTarget = new RecordingTarget();
        await using var billingSession = await _transport.StartConsumerAsync(billing, 10, billingTarget, None);
        await using var auditSession = await _transport.StartConsumerAsync(audit, 10, auditTarget, None);

        var sent = await PublishAsync("booking.created", "booking.created", "booking.created");

        var toBilling = await billingTarget.NextAsync(3);
        var toAudit = await auditTarget.NextAsync(3);
        Assert.Equal(sent, toBilling.Select(d => d.Envelope));
        Assert.Equal(sent, toAudit.Select(d => d.Envelope));
        Assert.All(toBilling.Concat(toAudit), d =>
        {
            Assert.False(d.Redelivered);
            Assert.Equal(1, d.DeliveryCount);
            Assert.Null(d.DecodeError);
            Assert.Equal("booking.created", d.RoutingKey);
        });
        Assert.Equal([1UL, 2UL, 3UL], toBilling.Select(d => d.Tag));
    }

    [Fact]
    public async Task Competing_consumers_should_split_a_queue_round_robin_without_duplicates()
    {
        var topology = Topology("booking.created", "billing");
        var first = new RecordingTarget();
        var second = new RecordingTarget();
        await using var firstSession = await _transport.StartConsumerAsync(topology, 10, first, None);
        await using var secondSession = await _transport.StartConsumerAsync(topology, 10, second, None);

        var sent = await PublishAsync(Enumerable.Repeat("booking.created", 20).ToArray());

        var toFirst = await first.NextAsync(10);
        var toSecond = await second.NextAsync(10);
        Assert.Equal(sent.Where((_, i) => i % 2 == 0), toFirst.Select(d => d.Envelope));
        Assert.Equal(sent.Where((_, i) => i % 2 == 1), toSecond.Select(d => d.Envelope));
    }

    [Fact]
    public async Task Consumer_should_hold_no_more_than_prefetch_unsettled_deliveries()
    {
        var topology = Topology("booking.created", "billing");
        await _transport.DeclareListenerAsync(topology, None);
        var sent = await PublishAsync(Enumerable.Repeat("booking.created", 5).ToArray());
        var bounded = new RecordingTarget();
        await using var boundedSession = await _transport.StartConsumerAsync(topology, 3, bounded, None);

        var first = await bounded.NextAsync(3);

        // A later consumer gets the two the bounded one was not given.
        var other = new RecordingTarget();
        var otherSession = await _transport.StartConsumerAsync(topology, 10, other, None);
        var rest = await other.NextAsync(2);
        Assert.Equal(sent.Take(3), first.Select(d => d.Envelope));
        Assert.Equal(sent.Skip(3), rest.Select(d => d.Envelope));
        await otherSession.StopConsumingAsync(None);
        await otherSession.AckAsync(2, multiple: true, None);

        // Full: a new event waits in the queue until the bounded consumer acks.
        var later = await PublishAsync("booking.created");
        await boundedSession.AckAsync(first[0].Tag, multiple: false, None);
        var afterAck = await bounded.NextAsync();
        Assert.Same(later[0], afterAck.Envelope);
        Assert.Equal(4UL, afterAck.Tag);
        Assert.Equal(4, bounded.Count);
        await otherSession.DisposeAsync();
    }

    [Fact]
    public async Task RejectAsync_should_redeliver_at_the_back_of_the_queue_with_count_two_and_the_reason_as_RabbitMQ_does()
    {
        var topology = Topology("booking.created", "billing");
        await _transport.DeclareListenerAsync(topology, None);
        var sent = await PublishAsync("booking.created", "booking.created");
        var target = new RecordingTarget();
        await using var session = await _transport.StartConsumerAsync(topology, 1, target, None);

        var first = await target.NextAsync();
        Assert.Null(first.LastFailure);
        await first.Handle.RejectAsync(TimeSpan.Zero, "TimeoutException: navitaire did not answer", None);
        var next = await target.NextAsync();
        Assert.Same(sent[1], next.Envelope);
        await session.AckAsync(next.Tag, multiple: false, None);

        var again = await target.NextAsync();
        Assert.Same(sent[0], again.Envelope);
        Assert.True(again.Redelivered);
        Assert.Equal(2, again.DeliveryCount);
        Assert.Equal("TimeoutException: navitaire did not answer", again.LastFailure);
    }

    [Fact]
    public async Task RejectAsync_with_a_delay_should_hold_the_event_back_at_least_that_long()
    {
        var topology = Topology("booking.created", "billing");
        await _transport.DeclareListenerAsync(topology, None);
        var sent = await PublishAsync("booking.created");
        var target = new RecordingTarget();
        await using var session = await _transport.StartConsumerAsync(topology, 10, target, None);

        var first = await target.NextAsync();
        var rejected = System.Diagnostics.Stopwatch.StartNew();
        await first.Handle.RejectAsync(TimeSpan.FromMilliseconds(300), "failed", None);
        var again = await target.NextAsync();

        Assert.True(rejected.Elapsed >= TimeSpan.FromMilliseconds(280), $"redelivered after {rejected.Elapsed}");
        Assert.Same(sent[0], again.Envelope);
        Assert.Equal(2, again.DeliveryCount);
    }

    [Fact]
    public async Task DropAsync_should_dead_letter_with_the_reason_and_peek_should_not_remove()
    {
        var topology = Topology("booking.created", "billing");
        var target = new RecordingTarget();
        await using var session = await _transport.StartConsumerAsync(topology, 1, target, None);
        var sent = await PublishAsync(("booking.created", """{"bad":true}"""), ("booking.created", """{"ok":true}"""));

        var bad = await target.NextAsync();
        await bad.Handle.DropAsync("price must be positive", None);
        var next = await target.NextAsync();

        var peeked = await _transport.ListDeadLettersAsync(topology, 0, 10, None);
        var again = await _transport.ListDeadLettersAsync(topology, 0, 10, None);
        var deadLetter = Assert.Single(peeked);
        Assert.Equal("price must be positive", deadLetter.Reason);
        Assert.Equal(sent[0].Metadata, deadLetter.Metadata);
        Assert.Equal("""{"bad":true}""", deadLetter.Body);
        Assert.Equal("booking.created", deadLetter.RoutingKey);
        Assert.Equal(peeked, again);
        Assert.Same(sent[1], next.Envelope);
        Assert.Empty(await _transport.ListDeadLettersAsync(topology, 0, 0, None));
    }

    [Fact]
    public async Task DropAsync_should_keep_the_first_64_KiB_of_a_large_body_as_text()
    {
        var topology = Topology("booking.created", "billing");
        var target = new RecordingTarget();
        await using var session = await _transport.StartConsumerAsync(topology, 1, target, None);
        await PublishAsync(("booking.created", "\"" + new string('x', 70_000) + "\""));

        await (await target.NextAsync()).Handle.DropAsync("too big", None);

        var deadLetter = Assert.Single(await _transport.ListDeadLettersAsync(topology, 0, 10, None));
        Assert.Equal(64 * 1024, deadLetter.Body.Length);
        Assert.StartsWith("\"xxx", deadLetter.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DisposeAsync_of_a_session_should_requeue_unsettled_deliveries_and_deliver_nothing_more()
    {
        var topology = Topology("booking.created", "billing");
        await _transport.DeclareListenerAsync(topology, None);
        var sent = await PublishAsync("booking.created", "booking.created", "booking.created");
        var closing = new RecordingTarget();
        var closingSession = await _transport.StartConsumerAsync(topology, 5, closing, None);
        var delivered = await closing.NextAsync(3);
        await closingSession.AckAsync(delivered[1].Tag, multiple: false, None);

        await closingSession.DisposeAsync();
        var next = new RecordingTarget();
        await using var nextSession = await _transport.StartConsumerAsync(topology, 5, next, None);
        var requeued = await next.NextAsync(2);
        var later = await PublishAsync("booking.created");
        var afterDispose = await next.NextAsync();

        Assert.Equal([sent[0], sent[2]], requeued.Select(d => d.Envelope));
        Assert.All(requeued, d => Assert.True(d.Redelivered));
        Assert.All(requeued, d => Assert.Equal(2, d.DeliveryCount));
        Assert.Same(later[0], afterDispose.Envelope);
        Assert.Equal(3, closing.Count);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => closingSession.AckAsync(1, multiple: false, None));
        Assert.Contains("was disposed", ex.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => delivered[0].Handle.RejectAsync(TimeSpan.Zero, "failed", None));
        await Assert.ThrowsAsync<InvalidOperationException>(() => delivered[0].Handle.DropAsync("why", None));
    }

    [Fact]
    public async Task AckAsync_with_multiple_should_settle_every_outstanding_tag_up_to_the_tag()
    {
        var topology = Topology("booking.created", "billing");
        await _transport.DeclareListenerAsync(topology, None);
        await PublishAsync(Enumerable.Repeat("booking.created", 10).ToArray());
        var target = new RecordingTarget();
        await using var session = await _transport.StartConsumerAsync(topology, 5, target, None);
        var first = await target.NextAsync(5);

        await session.AckAsync(4, multiple: false, None);
        await session.AckAsync(3, multiple: true, None);
        var more = await target.NextAsync(4);

        // Tag 5 is still outstanding (acking it is valid) and frees room for the last event.
        await session.AckAsync(5, multiple: false, None);
        var last = await target.NextAsync();
        Assert.Equal([1UL, 2UL, 3UL, 4UL, 5UL], first.Select(d => d.Tag));
        Assert.Equal([6UL, 7UL, 8UL, 9UL], more.Select(d => d.Tag));
        Assert.Equal(10UL, last.Tag);
        Assert.Empty(target.OrderViolations);
        Assert.False(target.Failed.IsCompleted);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AckAsync_should_fail_the_session_when_the_tag_is_not_outstanding(bool multiple)
    {
        var topology = Topology("booking.created", "billing");
        var target = new RecordingTarget();
        var session = await _transport.StartConsumerAsync(topology, 5, target, None);
        var sent = await PublishAsync("booking.created", "booking.created");
        var delivered = await target.NextAsync(2);
        await session.AckAsync(1, multiple: false, None);

        await session.AckAsync(1, multiple, None);

        var failure = await target.Failed.WaitAsync(RecordingTarget.Timeout);
        Assert.Contains("PRECONDITION_FAILED - unknown delivery tag 1", failure.Message, StringComparison.Ordinal);
        Assert.Contains("'booking.created.billing'", failure.Message, StringComparison.Ordinal);
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => session.AckAsync(delivered[1].Tag, multiple: false, None));
        Assert.Same(failure, ex.InnerException);
        var next = new RecordingTarget();
        await using var nextSession = await _transport.StartConsumerAsync(topology, 5, next, None);
        var requeued = await next.NextAsync();
        Assert.Same(sent[1], requeued.Envelope);
        Assert.True(requeued.Redelivered);
        await session.DisposeAsync();
    }

    [Fact]
    public async Task PublishAsync_with_mandatory_should_fail_when_no_queue_is_bound()
    {
        await _transport.DeclareListenerAsync(Topology("booking.created", "billing"), None);

        var ex = await Assert.ThrowsAsync<EmitException>(
            () => _publisher.PublishAsync(Envelopes.Create("booking.cancelled"), mandatory: true, None));

        Assert.Contains("'booking.cancelled'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("no queue is bound", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PublishAsync_without_mandatory_should_discard_an_event_no_queue_is_bound_for()
    {
        await PublishAsync("booking.created");
        var topology = Topology("booking.created", "billing");
        var target = new RecordingTarget();
        await using var session = await _transport.StartConsumerAsync(topology, 5, target, None);

        var kept = await PublishAsync("booking.created");

        var first = await target.NextAsync();
        Assert.Same(kept[0], first.Envelope);
        Assert.Equal(1UL, first.Tag);
    }

    [Fact]
    public async Task DeclareListenerAsync_should_be_idempotent_and_reject_another_queue_type_as_RabbitMQ_does()
    {
        var classic = Topology("booking.created", "billing");
        await _transport.DeclareListenerAsync(classic, None);
        var sent = await PublishAsync("booking.created");
        await _transport.DeclareListenerAsync(classic, None);

        // The exception RabbitMQ's transport throws for the same conflict (RabbitMqTopologyTests), so code tested here catches it there.
        var ex = await Assert.ThrowsAsync<TopologyConflictException>(
            () => _transport.DeclareListenerAsync(classic with { QueueType = QueueType.Quorum }, None));
        var fromStart = await Assert.ThrowsAsync<TopologyConflictException>(
            () => _transport.StartConsumerAsync(classic with { QueueType = QueueType.Quorum }, 5, new RecordingTarget(), None));

        Assert.Equal(("booking.created.billing", "x-queue-type"), (ex.Name, ex.Argument));
        Assert.Equal(
            "The queue 'booking.created.billing' already exists with other arguments: 'x-queue-type' differs " +
            "(this declaration asks for 'quorum'; it exists as 'classic'). Delete the queue or declare it with the same settings.",
            ex.Message);
        Assert.Equal(ex.Message, fromStart.Message);
        var target = new RecordingTarget();
        await using var session = await _transport.StartConsumerAsync(classic, 5, target, None);
        Assert.Same(sent[0], (await target.NextAsync()).Envelope);
    }

    [Fact]
    public async Task DeclareListenerAsync_should_keep_events_published_before_any_consumer()
    {
        var topology = Topology("booking.*", "billing");
        await _transport.DeclareListenerAsync(topology, None);
        var sent = await PublishAsync("booking.created", "booking.cancelled", "booking.created");
        var target = new RecordingTarget();

        await using var session = await _transport.StartConsumerAsync(topology, 10, target, None);

        Assert.Equal(sent, (await target.NextAsync(3)).Select(d => d.Envelope));
    }

    [Fact]
    public async Task StopConsumingAsync_should_stop_new_deliveries_while_settling_keeps_working()
    {
        var topology = Topology("booking.created", "billing");
        var stopping = new RecordingTarget();
        await using var stoppingSession = await _transport.StartConsumerAsync(topology, 10, stopping, None);
        await PublishAsync("booking.created");
        var held = await stopping.NextAsync();

        await stoppingSession.StopConsumingAsync(None);
        var sent = await PublishAsync("booking.created");
        await stoppingSession.AckAsync(held.Tag, multiple: false, None);

        var other = new RecordingTarget();
        await using var otherSession = await _transport.StartConsumerAsync(topology, 10, other, None);
        var next = await other.NextAsync();
        Assert.Same(sent[0], next.Envelope);
        Assert.False(next.Redelivered);
        Assert.Equal(1, stopping.Count);
    }

    [Fact]
    public async Task PublishAsync_should_not_run_the_consumer_inline()
    {
        var topology = Topology("booking.created", "billing");
        var ranInsidePublish = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var target = new RecordingTarget(_ => ranInsidePublish.TrySetResult(PublishingThread.IsPublishing));
        await using var session = await _transport.StartConsumerAsync(topology, 10, target, None);

        PublishingThread.IsPublishing = true;
        try
        {
            _ = _publisher.PublishAsync(Envelopes.Create("booking.created"), mandatory: true, None);
        }
        finally
        {
            PublishingThread.IsPublishing = false;
        }

        Assert.False(await ranInsidePublish.Task.WaitAsync(RecordingTarget.Timeout));
    }

    [Fact]
    public async Task DisposeAsync_of_the_transport_should_fail_live_sessions_and_reject_later_calls()
    {
        var topology = Topology("booking.created", "billing");
        var target = new RecordingTarget();
        var session = await _transport.StartConsumerAsync(topology, 10, target, None);
        await PublishAsync("booking.created");
        var delivery = await target.NextAsync();
        Assert.Equal("in-memory", _transport.Description);
        Assert.True((await _transport.CheckHealthAsync(None)).IsHealthy);

        await _transport.DisposeAsync();

        Assert.True(target.Failed.IsCompleted, "DisposeAsync returns after the sessions were told");
        Assert.IsType<ObjectDisposedException>(await target.Failed);
        Assert.False((await _transport.CheckHealthAsync(None)).IsHealthy);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => session.AckAsync(delivery.Tag, multiple: false, None));
        await Assert.ThrowsAsync<ObjectDisposedException>(
            () => _publisher.PublishAsync(Envelopes.Create("booking.created"), mandatory: false, None));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => _transport.DeclareListenerAsync(topology, None));
        await Assert.ThrowsAsync<ObjectDisposedException>(
            () => _transport.StartConsumerAsync(topology, 10, new RecordingTarget(), None));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => _transport.OpenPublisherAsync(None));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => _transport.ListDeadLettersAsync(topology, 0, 10, None));
        await session.DisposeAsync();
    }

    [Fact]
    public async Task Competing_consumers_should_receive_and_ack_every_event_exactly_once_under_concurrency()
    {
        const int publishers = 4;
        const int perPublisher = 2_500;
        const int total = publishers * perPublisher;
        var topology = Topology("booking.created", "billing");
        var received = new ConcurrentDictionary<string, int>();
        var duplicates = new ConcurrentQueue<string>();
        var ackFailures = new ConcurrentQueue<Exception>();
        var acked = 0;
        var allAcked = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var sessions = new IConsumerSession?[3];
        var targets = new RecordingTarget[3];
        for (var i = 0; i < sessions.Length; i++)
        {
            var index = i;
            targets[i] = new RecordingTarget(delivery =>
            {
                if (!received.TryAdd(delivery.Envelope!.Metadata.Id, index))
                {
                    duplicates.Enqueue(delivery.Envelope.Metadata.Id);
                }

                ThreadPool.QueueUserWorkItem(async _ =>
                {
                    try
                    {
                        await sessions[index]!.AckAsync(delivery.Tag, multiple: false, None);
                        if (Interlocked.Increment(ref acked) == total)
                        {
                            allAcked.TrySetResult();
                        }
                    }
                    catch (Exception ex)
                    {
                        ackFailures.Enqueue(ex);
                        allAcked.TrySetException(ex);
                    }
                });
            });
        }

        await _transport.DeclareListenerAsync(topology, None);
        for (var i = 0; i < sessions.Length; i++)
        {
            sessions[i] = await _transport.StartConsumerAsync(topology, 50, targets[i], None);
        }

        await Task.WhenAll(Enumerable.Range(0, publishers).Select(_ => Task.Run(async () =>
        {
            await using var publisher = await _transport.OpenPublisherAsync(None);
            for (var n = 0; n < perPublisher; n++)
            {
                await publisher.PublishAsync(Envelopes.Create("booking.created"), mandatory: true, None);
            }
        })));
        await allAcked.Task.WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Empty(ackFailures);
        Assert.Empty(duplicates);
        Assert.Equal(total, received.Count);
        Assert.Equal(total, Volatile.Read(ref acked));
        Assert.All(targets, t => Assert.Empty(t.OrderViolations));
        Assert.All(targets, t => Assert.True(t.Count > 0, "every consumer got a share"));
        foreach (var session in sessions)
        {
            await session!.DisposeAsync();
        }

        Assert.All(targets, t => Assert.False(t.Failed.IsCompleted));
    }

    private static ListenerTopology Topology(string pattern, string group) =>
        ListenerTopology.Create(pattern, group, QueueType.Classic);

    private async Task<IReadOnlyList<EventEnvelope>> PublishAsync(params string[] names) =>
        await PublishAsync(names.Select(n => (n, """{"n":1}""")).ToArray());

    private async Task<IReadOnlyList<EventEnvelope>> PublishAsync(params (string Name, string Json)[] events)
    {
        var envelopes = events.Select(e => Envelopes.Create(e.Name, e.Json)).ToArray();
        foreach (var envelope in envelopes)
        {
            await _publisher.PublishAsync(envelope, mandatory: false, None);
        }

        return envelopes;
    }

    private async Task<IReadOnlyList<string>> ReceiveNamesUntilAsync(ListenerTopology topology, string sentinel)
    {
        var target = new RecordingTarget();
        await using var session = await _transport.StartConsumerAsync(topology, 100, target, None);
        var names = new List<string>();
        while (true)
        {
            var name = (await target.NextAsync()).RoutingKey;
            if (name == sentinel)
            {
                return names;
            }

            names.Add(name);
        }
    }

    private static class PublishingThread
    {
        [ThreadStatic]
        public static bool IsPublishing;
    }
}
