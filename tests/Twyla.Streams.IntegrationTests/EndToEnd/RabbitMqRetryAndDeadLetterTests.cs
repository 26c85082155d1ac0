using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Xunit;

namespace Twyla.Streams.IntegrationTests.EndToEnd;

/// <summary>
/// Delayed retries through the group's retry queues, and the dead-letter operations, on a real RabbitMQ node and for
/// both queue types: everything goes through the group's own router exchange, never the default exchange.
/// </summary>
public class RabbitMqRetryAndDeadLetterTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly IMaterializer _mat;

    public RabbitMqRetryAndDeadLetterTests()
    {
        _mat = Sys.Materializer();
    }

    [Theory]
    [InlineData(Twyla.Streams.Transport.QueueType.Classic)]
    [InlineData(Twyla.Streams.Transport.QueueType.Quorum)]
    public async Task A_failing_handler_should_get_the_event_back_after_each_retry_delay_with_its_failure_then_dead_letter_it(
        Twyla.Streams.Transport.QueueType type)
    {
        await using var bus = EventBus.RabbitMq(Broker.Settings(), EventBusSettings.Create("retries"));
        var group = TestEvents.Group();
        var settings = ListenSettings.Default.WithQueueType(type)
            .WithRetryDelays([TimeSpan.FromMilliseconds(300), TimeSpan.FromMilliseconds(600)]);
        await bus.DeclareGroupAsync("booking.created", group, settings);
        await bus.EmitAsync("booking.created", new BookingCreated("B-1", 2));
        var seen = new ConcurrentQueue<(int Delivery, string? LastFailure, long At)>();
        var clock = Stopwatch.StartNew();

        var (control, outcomes) = bus.Listen<BookingCreated>("booking.created", group, settings)
            .Via(AckOnCompletion.Flow<BookingCreated>(
                e =>
                {
                    seen.Enqueue((e.DeliveryCount, e.LastFailure, clock.ElapsedMilliseconds));
                    throw new TimeoutException($"attempt {e.DeliveryCount}");
                },
                AckOnCompletionSettings.Default.WithMaxDeliveries(3)))
            .Take(3)
            .ToMaterialized(Sink.Seq<HandledEvent>(), Keep.Both)
            .Run(_mat);

        var done = await outcomes.WaitAsync(TimeSpan.FromSeconds(30));
        await control.Completion.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.Equal([SettleKind.Reject, SettleKind.Reject, SettleKind.Drop], done.Select(h => h.Settlement));
        var at = seen.ToArray();
        Assert.Equal([1, 2, 3], at.Select(s => s.Delivery));
        Assert.Equal([null, "TimeoutException: attempt 1", "TimeoutException: attempt 2"], at.Select(s => s.LastFailure));
        Assert.True(at[1].At - at[0].At >= 290, $"second delivery {at[1].At - at[0].At} ms after the first");
        Assert.True(at[2].At - at[1].At >= 590, $"third delivery {at[2].At - at[1].At} ms after the second");

        var dead = Assert.Single(await TestEvents.Eventually(() => bus.PeekDeadLettersAsync("booking.created", group), d => d.Count == 1));
        Assert.Contains("attempt 3", dead.Reason, StringComparison.Ordinal);
        Assert.Equal(3, dead.DeliveryCount);
        Assert.Equal(done[0].Metadata.Id, dead.EventId);
    }

    [Fact]
    public async Task Dead_letters_should_be_counted_paged_past_a_thousand_replayed_with_their_ids_and_purged()
    {
        const int count = 1030;
        await using var bus = EventBus.RabbitMq(Broker.Settings(), EventBusSettings.Create("dead-letters"));
        var group = TestEvents.Group();
        await bus.DeclareGroupAsync("booking.created", group, ListenSettings.Default);
        await Source.From(Enumerable.Range(0, count)).Select(i => new BookingCreated($"B-{i}", 1))
            .RunWith(bus.Emit<BookingCreated>("booking.created"), _mat).WaitAsync(TimeSpan.FromSeconds(60));

        await bus.Listen<BookingCreated>("booking.created", group)
            .Via(AckOnCompletion.Flow<BookingCreated>(e => e.DropAsync($"bad {e.Payload.BookingId}"), AckOnCompletionSettings.Create(16)))
            .Take(count)
            .RunWith(Sink.Ignore<HandledEvent>(), _mat)
            .WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(count, await TestEvents.Eventually(() => bus.CountDeadLettersAsync("booking.created", group), n => n == count));
        var last = await bus.ListDeadLettersAsync("booking.created", group, 1000, 100, CancellationToken.None);
        Assert.Equal(30, last.Count);
        Assert.Equal("bad B-1029", last[^1].Reason);
        Assert.All(last, d => Assert.NotNull(d.DeadLetteredAt));

        var first = (await bus.ListDeadLettersAsync("booking.created", group, 0, 1, CancellationToken.None))[0];
        Assert.True(await bus.ReplayDeadLetterAsync("booking.created", group, first.EventId!, CancellationToken.None));
        Assert.Equal(count - 1, await bus.CountDeadLettersAsync("booking.created", group));

        var replayed = await bus.Listen<BookingCreated>("booking.created", group)
            .Via(AckOnCompletion.Flow<BookingCreated>(_ => Task.CompletedTask, AckOnCompletionSettings.Default))
            .Take(1)
            .RunWith(Sink.Seq<HandledEvent>(), _mat)
            .WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(first.EventId, replayed[0].Metadata.Id);
        Assert.Equal(first.Metadata!.CorrelationId, replayed[0].Metadata.CorrelationId);
        Assert.Equal(first.Metadata.CausationId, replayed[0].Metadata.CausationId);
        Assert.Equal(first.Metadata.Time, replayed[0].Metadata.Time);
        Assert.Equal(1, replayed[0].DeliveryCount);

        Assert.Equal(count - 1, await bus.PurgeDeadLettersAsync("booking.created", group, CancellationToken.None));
        Assert.Equal(0, await bus.CountDeadLettersAsync("booking.created", group));
        Assert.Equal(0, await bus.CountDeadLettersAsync("booking.created", TestEvents.Group())); // never declared
    }

    [Fact]
    public async Task Replaying_all_dead_letters_while_a_listener_keeps_failing_them_should_replay_those_present_and_return()
    {
        const int count = 30;
        await using var bus = EventBus.RabbitMq(Broker.Settings(), EventBusSettings.Create("replay-live"));
        var group = TestEvents.Group();
        var settings = ListenSettings.Default.WithRetryDelays([]);
        await bus.DeclareGroupAsync("booking.created", group, settings);
        var listener = bus.Listen<BookingCreated>("booking.created", group, settings)
            .Via(AckOnCompletion.Flow<BookingCreated>(_ => throw new InvalidOperationException("still broken"), AckOnCompletionSettings.Create(4).WithMaxDeliveries(1)))
            .ToMaterialized(Sink.Ignore<HandledEvent>(), Keep.Left)
            .Run(_mat);
        for (var i = 0; i < count; i++)
        {
            await bus.EmitAsync("booking.created", new BookingCreated($"B-{i}", 1));
        }

        await TestEvents.Eventually(() => bus.CountDeadLettersAsync("booking.created", group), n => n == count);

        // Every replayed letter fails again and comes back to the end of the dead-letter queue while the replay runs:
        // the replay takes the letters present when it started, once each, and returns.
        var replayed = await bus.ReplayDeadLettersAsync("booking.created", group, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(count, replayed);

        // Each replayed letter failed once more and is back, recorded as replayed exactly once.
        await TestEvents.Eventually(() => bus.CountDeadLettersAsync("booking.created", group), n => n == count);
        await listener.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(20));
        var letters = await bus.ListDeadLettersAsync("booking.created", group, 0, 100, CancellationToken.None);
        Assert.Equal(count, letters.Count);
        Assert.True(letters.All(l => l.ReplayCount == 1), $"replay counts: {string.Join(", ", letters.Select(l => l.ReplayCount))}");
    }

    [Fact]
    public async Task On_a_quorum_queue_a_retry_after_a_redelivery_should_count_each_delivery_once()
    {
        await using var bus = EventBus.RabbitMq(Broker.Settings(), EventBusSettings.Create("quorum-counts"));
        var group = TestEvents.Group();
        var settings = ListenSettings.Default.WithQueueType(Twyla.Streams.Transport.QueueType.Quorum).WithRetryDelays([]);
        await bus.DeclareGroupAsync("booking.created", group, settings);
        await bus.EmitAsync("booking.created", new BookingCreated("B-1", 1));

        // Delivery 1: the listener stops without settling it; the broker returns it (its x-delivery-count becomes 1).
        var held = new TaskCompletionSource<Event<BookingCreated>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var first = bus.Listen<BookingCreated>("booking.created", group, settings)
            .SelectAsync(1, async e =>
            {
                held.TrySetResult(e);
                await Task.Delay(Timeout.Infinite, e.CancellationToken);
                return e;
            })
            .ToMaterialized(Sink.Ignore<Event<BookingCreated>>(), Keep.Left)
            .Run(_mat);
        Assert.Equal(1, (await held.Task.WaitAsync(TimeSpan.FromSeconds(20))).DeliveryCount);
        await first.ShutdownAsync().WaitAsync(TimeSpan.FromSeconds(20));

        // Delivery 2 fails and is retried; the retry is delivery 3, not 4.
        var counts = new ConcurrentQueue<int>();
        var done = await bus.Listen<BookingCreated>("booking.created", group, settings)
            .Via(AckOnCompletion.Flow<BookingCreated>(
                e =>
                {
                    counts.Enqueue(e.DeliveryCount);
                    return e.DeliveryCount == 2 ? Task.FromException(new TimeoutException("once more")) : Task.CompletedTask;
                },
                AckOnCompletionSettings.Default))
            .Take(2)
            .RunWith(Sink.Seq<HandledEvent>(), _mat)
            .WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal([2, 3], counts.ToArray());
        Assert.Equal([SettleKind.Reject, SettleKind.Ack], done.Select(h => h.Settlement));
    }
}
