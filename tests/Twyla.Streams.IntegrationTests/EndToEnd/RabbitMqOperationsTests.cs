using System.Collections.Concurrent;
using Akka.Streams;
using Akka.Streams.Dsl;
using RabbitMQ.Client;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.IntegrationTests.Transport.RabbitMq;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.EndToEnd;

/// <summary>
/// What an outside trial of the library found in operations, each now a test: a memory alarm must not stop the
/// listeners, the other operations fail with one documented type, a dead letter keeps the id it came with, and an
/// emit a listener would refuse for its size is refused at once.
/// </summary>
[Collection(BrokerRestartCollection.Name)]
public class RabbitMqOperationsTests(ITestOutputHelper output, PrivateNode node) : Akka.TestKit.Xunit2.TestKit
{
    [Fact]
    public async Task A_memory_alarm_should_fail_emits_but_listeners_should_keep_consuming_and_health_should_say_why()
    {
        const int backlog = 200;
        await using var bus = EventBus.RabbitMq(
            Broker.Settings(node.Uri).WithConfirmTimeout(TimeSpan.FromSeconds(2)), EventBusSettings.Create("alarm-listeners"));
        var group = TestEvents.Group();
        await bus.DeclareGroupAsync("booking.created", group, ListenSettings.Default);
        for (var i = 0; i < backlog; i++)
        {
            await bus.EmitAsync("booking.created", new BookingCreated($"B-{i}", 1));
        }

        await node.MemoryAlarmAsync(true);
        try
        {
            // A publish while the alarm lasts: the broker blocks the connection that publishes...
            var failure = await Assert.ThrowsAsync<EmitException>(() => bus.EmitAsync("booking.created", new BookingCreated("during", 1)));
            output.WriteLine($"emit during the alarm: {failure.Message}");

            // ...but not the one that consumes: the whole backlog is handled and acked while the alarm is on.
            var handled = new ConcurrentDictionary<string, byte>();
            var listener = bus.Listen<BookingCreated>("booking.created", group, ListenSettings.Default.WithPrefetch(20))
                .Via(AckOnCompletion.Flow<BookingCreated>(e =>
                {
                    handled.TryAdd(e.Payload.BookingId, 0);
                    return Task.CompletedTask;
                }, AckOnCompletionSettings.Create(4)))
                .ToMaterialized(Sink.Ignore<HandledEvent>(), Keep.Left)
                .Run(Sys.Materializer());
            await TestEvents.Eventually(() => Task.FromResult(handled.Count), n => n >= backlog, TimeSpan.FromSeconds(30));

            // A new emit stream opens a channel on the blocked connection: the broker does not answer channel.open, and
            // the stream must give up within its confirm timeout (2 s here), not the client's own 20 s.
            var opened = System.Diagnostics.Stopwatch.StartNew();
            var stream = await Assert.ThrowsAsync<EmitException>(() => Source.Single(new BookingCreated("stream", 1))
                .RunWith(bus.Emit<BookingCreated>("booking.created"), Sys.Materializer())
                .WaitAsync(TimeSpan.FromSeconds(60)));
            output.WriteLine($"emit stream during the alarm failed after {opened.Elapsed}: {stream.Message}");
            Assert.True(opened.Elapsed < TimeSpan.FromSeconds(12), $"the emit stream waited {opened.Elapsed} for its publisher");

            var health = await bus.CheckHealthAsync(default);
            output.WriteLine($"health during the alarm: {health}");
            Assert.True(health.IsDegraded, $"health should be degraded during the alarm, was {health}");
            Assert.Contains("blocks publishing", health.Reason, StringComparison.Ordinal);
            await listener.DrainAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        finally
        {
            await node.MemoryAlarmAsync(false);
        }

        await TestEvents.Eventually(
            async () =>
            {
                try
                {
                    await bus.EmitAsync("booking.created", new BookingCreated("after", 1));
                    return true;
                }
                catch (EmitException)
                {
                    return false;
                }
            },
            ok => ok);
    }

    [Fact]
    public async Task Operations_other_than_emit_and_listen_should_fail_with_BrokerException_naming_what_failed_when_no_broker_answers()
    {
        await using var bus = EventBus.RabbitMq(RabbitMqSettings.FromUri("amqp://guest:secret-word@127.0.0.1:1/"), EventBusSettings.Create("no-broker"));

        var declare = await Assert.ThrowsAsync<BrokerException>(() => bus.DeclareGroupAsync("booking.created", "billing", ListenSettings.Default));
        var count = await Assert.ThrowsAsync<BrokerException>(() => bus.CountDeadLettersAsync("booking.created", "billing"));
        var replay = await Assert.ThrowsAsync<BrokerException>(() => bus.ReplayDeadLettersAsync("booking.created", "billing", CancellationToken.None));

        Assert.Contains("Declaring the queues of group 'booking.created.billing'", declare.Message, StringComparison.Ordinal);
        Assert.Contains("Counting the dead letters", count.Message, StringComparison.Ordinal);
        Assert.Contains("Replaying the dead letters", replay.Message, StringComparison.Ordinal);
        Assert.All(new[] { declare, count, replay }, e =>
        {
            Assert.Contains("127.0.0.1:1", e.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("secret-word", e.ToString(), StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task A_dead_letter_that_could_not_be_decoded_should_keep_the_id_it_was_sent_with_and_be_replayable_by_it()
    {
        var settings = Broker.Settings();
        await using var bus = EventBus.RabbitMq(settings, EventBusSettings.Create("undecodable"));
        var group = TestEvents.Group();
        await bus.DeclareGroupAsync("booking.created", group, ListenSettings.Default);
        await using (var raw = await Broker.RawConnectionAsync())
        await using (var channel = await raw.CreateChannelAsync())
        {
            await channel.BasicPublishAsync(
                settings.Exchange, "booking.created", mandatory: true, new BasicProperties { MessageId = "legacy-id-7", ContentType = "application/cloudevents+json" },
                "{ this is no CloudEvent"u8.ToArray()); // structured mode that cannot be read: no metadata at all
        }

        _ = bus.Listen<BookingCreated>("booking.created", group).RunWith(Sink.Ignore<Event<BookingCreated>>(), Sys.Materializer());
        var dead = await TestEvents.Eventually(() => bus.PeekDeadLettersAsync("booking.created", group), d => d.Count == 1);

        Assert.Null(dead[0].Metadata);
        Assert.Equal("legacy-id-7", dead[0].EventId);

        // A replay filter that throws: the caller's own exception comes back as it is (not as a broker failure).
        await Assert.ThrowsAsync<FormatException>(() => bus.ReplayDeadLettersAsync(
            "booking.created", group, _ => throw new FormatException("my filter is broken"), CancellationToken.None));

        // A group that never dead-lettered anything (never even declared) has an empty page, not null.
        Assert.Empty(await bus.ListDeadLettersAsync("booking.created", TestEvents.Group(), 0, 10, CancellationToken.None));
        Assert.Empty(await bus.PeekDeadLettersAsync("booking.created", TestEvents.Group()));
        Assert.True(await bus.ReplayDeadLetterAsync("booking.created", group, "legacy-id-7", CancellationToken.None));
    }

    [Fact]
    public async Task An_emit_larger_than_a_listener_accepts_should_fail_before_anything_is_sent()
    {
        await using var bus = EventBus.RabbitMq(Broker.Settings().WithMaxBodySize(1024), EventBusSettings.Create("too-big"));
        var group = TestEvents.Group();
        await bus.DeclareGroupAsync("booking.created", group, ListenSettings.Default);

        var failure = await Assert.ThrowsAsync<EmitException>(() => bus.EmitAsync("booking.created", new BookingCreated(new string('x', 2000), 1)));

        Assert.Contains("larger than the 1024 bytes a listener accepts", failure.Message, StringComparison.Ordinal);
        await bus.EmitAsync("booking.created", new BookingCreated("fits", 1)); // the publisher is still fine
    }

    [Fact]
    public async Task Ready_should_complete_once_the_listener_consumes_so_an_event_emitted_after_it_is_received_without_declaring_first()
    {
        await using var bus = EventBus.RabbitMq(Broker.Settings(), EventBusSettings.Create("ready"));
        var group = TestEvents.Group();
        var received = new TaskCompletionSource<Event<BookingCreated>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var control = bus.Listen<BookingCreated>("booking.created", group)
            .Via(AckOnCompletion.Flow<BookingCreated>(e =>
            {
                received.TrySetResult(e);
                return Task.CompletedTask;
            }, AckOnCompletionSettings.Default))
            .ToMaterialized(Sink.Ignore<HandledEvent>(), Keep.Left)
            .Run(Sys.Materializer());

        await control.Ready.WaitAsync(TimeSpan.FromSeconds(20));
        await bus.EmitAsync("booking.created", new BookingCreated("right-after-ready", 1));

        Assert.Equal("right-after-ready", (await received.Task.WaitAsync(TimeSpan.FromSeconds(20))).Payload.BookingId);

        // A listener that cannot start: Ready fails with its failure.
        var conflicting = bus.Listen<BookingCreated>("booking.created", group, ListenSettings.Default.WithQueueType(QueueType.Quorum))
            .To(Sink.Ignore<Event<BookingCreated>>())
            .Run(Sys.Materializer());
        await Assert.ThrowsAsync<ListenException>(() => conflicting.Ready.WaitAsync(TimeSpan.FromSeconds(20)));
    }
}
