using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Events;

/// <summary>Ack on completion on the in-memory bus: exactly-once acks, retries, dead-letters, validation.</summary>
public sealed class AckOnCompletionTests : BusTestKit
{
    [Fact]
    public async Task AckOnCompletion_should_ack_every_event_exactly_once_with_parallelism_8_and_random_completion_order()
    {
        const int count = 500;
        await Bus.DeclareGroupAsync("booking.requested", "random", ListenSettings.Default);
        await EmitAsync(count);
        var random = new ConcurrentQueue<int>(Enumerable.Range(0, count).Select(i => (i * 7919) % 5));
        var handled = new ConcurrentBag<Event<BookingRequested>>();

        var (control, outcomes) = Bus.Listen<BookingRequested>("booking.requested", "random", ListenSettings.Default.WithPrefetch(32))
            .Via(AckOnCompletion.Flow<BookingRequested>(
                async e =>
                {
                    random.TryDequeue(out var ms);
                    await Task.Delay(ms);
                    handled.Add(e);
                },
                AckOnCompletionSettings.Create(8)))
            .Take(count)
            .ToMaterialized(Sink.Seq<HandledEvent>(), Keep.Both)
            .Run(Materializer);

        var done = await outcomes.WaitAsync(TimeSpan.FromSeconds(30));
        await control.Completion.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(count, done.Count);
        Assert.All(done, h => Assert.Equal(SettleKind.Ack, h.Settlement));
        Assert.Equal(count, done.Select(h => h.Metadata.Id).Distinct().Count());
        Assert.DoesNotContain(handled, e => e.Redelivered);
        Assert.True(done.Select(h => h.Metadata.Id).Zip(done.Select(h => h.Metadata.Id).Order()).Any(p => p.First != p.Second),
            "handlers should have completed out of order");

        // Every ack reached the broker: a new listener of the group finds nothing left, not even redeliveries.
        var probe = Bus.Listen<BookingRequested>("booking.requested", "random").RunWith(this.SinkProbe<Event<BookingRequested>>(), Materializer);
        probe.Request(1);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(300));
        probe.Cancel();
    }

    [Fact]
    public async Task A_handler_that_always_throws_should_get_the_event_redelivered_up_to_the_limit_then_dead_letter_it()
    {
        await Bus.DeclareGroupAsync("booking.requested", "fragile", ListenSettings.Default);
        await Bus.EmitAsync("booking.requested", new BookingRequested("POISON", 1));
        await EmitAsync(20);
        var attempts = new ConcurrentQueue<(int Count, bool Redelivered, string? LastFailure)>();
        var settings = ListenSettings.Default.WithRetryDelays([TimeSpan.FromMilliseconds(50), TimeSpan.FromMilliseconds(100)]);

        var (control, outcomes) = Bus.Listen<BookingRequested>("booking.requested", "fragile", settings)
            .Via(AckOnCompletion.Flow<BookingRequested>(
                e =>
                {
                    if (e.Payload.Pnr != "POISON")
                    {
                        return Task.CompletedTask;
                    }

                    attempts.Enqueue((e.DeliveryCount, e.Redelivered, e.LastFailure));
                    throw new InvalidOperationException("the booking service is confused");
                },
                AckOnCompletionSettings.Create(4).WithMaxDeliveries(3)))
            .Take(23)
            .ToMaterialized(Sink.Seq<HandledEvent>(), Keep.Both)
            .Run(Materializer);

        var done = await outcomes.WaitAsync(TimeSpan.FromSeconds(10));
        await control.Completion.WaitAsync(TimeSpan.FromSeconds(10));

        Assert.Equal(20, done.Count(h => h.Settlement == SettleKind.Ack));
        const string failure = "InvalidOperationException: the booking service is confused";
        Assert.Equal([(1, false, null), (2, true, failure), (3, true, failure)], attempts.ToArray());
        Assert.Equal(2, done.Count(h => h.Settlement == SettleKind.Reject));
        var dropped = Assert.Single(done, h => h.Settlement == SettleKind.Drop);
        var dead = Assert.Single(await Bus.PeekDeadLettersAsync("booking.requested", "fragile"));
        Assert.Equal(dropped.Metadata.Id, dead.Metadata?.Id);
        Assert.Contains("the booking service is confused", dead.Reason, StringComparison.Ordinal);
        Assert.Contains("POISON", dead.Body, StringComparison.Ordinal);
        Assert.Equal(3, dead.DeliveryCount);
    }

    [Fact]
    public async Task Handlers_that_finish_at_once_should_be_settled_like_slow_ones_and_one_that_settles_itself_reported_as_it_did()
    {
        await Bus.DeclareGroupAsync("booking.requested", "instant", ListenSettings.Default);
        await EmitAsync(5);

        var (control, outcomes) = Bus.Listen<BookingRequested>("booking.requested", "instant", ListenSettings.Default)
            .Via(AckOnCompletion.Flow<BookingRequested>(
                e => e.Payload.Pnr switch
                {
                    "PNR0000" => Task.CompletedTask, // done at once: acked
                    "PNR0001" => e.DropAsync("not for this service"), // settled by the handler: reported as its drop
                    "PNR0002" => null!, // a null task: a failure
                    "PNR0003" => e.AckAsync(), // acked by the handler, complete at once: one ack, reported as an ack
                    _ => throw new InvalidOperationException("thrown before any task"),
                },
                AckOnCompletionSettings.Create(4).WithMaxDeliveries(1)))
            .Take(5)
            .ToMaterialized(Sink.Seq<HandledEvent>(), Keep.Both)
            .Run(Materializer);

        var done = (await outcomes.WaitAsync(TimeSpan.FromSeconds(10))).ToDictionary(h => h.Metadata.Id);
        await control.Completion.WaitAsync(TimeSpan.FromSeconds(10));

        var dead = await Bus.PeekDeadLettersAsync("booking.requested", "instant");
        Assert.Equal(5, done.Count);
        Assert.Equal(2, done.Values.Count(h => h.Settlement == SettleKind.Ack));
        Assert.Contains(done.Values, h => h.Settlement == SettleKind.Drop && h.Reason == "not for this service");
        Assert.Contains(done.Values, h => h.Settlement == SettleKind.Drop && h.Reason.Contains("null Task", StringComparison.Ordinal));
        Assert.Contains(done.Values, h => h.Settlement == SettleKind.Drop && h.Reason.Contains("thrown before any task", StringComparison.Ordinal));
        Assert.Equal(3, dead.Count);
        Assert.All(dead, d => Assert.Equal(SettleKind.Drop, done[d.Metadata!.Id].Settlement));
    }

    [Theory]
    [InlineData("""{"pnr":"AB12","seats":"two"}""", "$.seats")]
    [InlineData("""{"pnr":"AB12"}""", "seats")]
    [InlineData("""{"pnr":"AB12","seats":2""", "invalid")]
    public async Task An_invalid_payload_should_be_dead_lettered_with_a_reason_naming_the_member_and_the_stream_keeps_running(
        string payload, string named)
    {
        await Bus.DeclareGroupAsync("booking.requested", "strict", ListenSettings.Default);
        if (payload.EndsWith('}'))
        {
            await Bus.EmitAsync("booking.requested", JsonNode.Parse(payload)!.AsObject());
        }
        else
        {
            // Malformed JSON cannot be emitted through the API: publish raw bytes through the transport.
            await using var publisher = await Bus.Transport.OpenPublisherAsync(CancellationToken.None);
            var envelope = Twyla.Streams.Emit.EnvelopeFactory.Create(Twyla.Streams.Emit.OutgoingEvent.Create("booking.requested", 1), Bus.Settings)
                with { Data = System.Text.Encoding.UTF8.GetBytes(payload) };
            await publisher.PublishAsync(envelope, mandatory: true, CancellationToken.None);
        }

        await EmitAsync(1);
        var probe = Bus.Listen<BookingRequested>("booking.requested", "strict").RunWith(this.SinkProbe<Event<BookingRequested>>(), Materializer);
        probe.Request(2);
        var valid = probe.ExpectNext();
        Assert.Equal("PNR0000", valid.Payload.Pnr);
        await valid.AckAsync();
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(100));

        AwaitCondition(() => Bus.PeekDeadLettersAsync("booking.requested", "strict").Result.Count == 1, TimeSpan.FromSeconds(5));
        var dead = Assert.Single(await Bus.PeekDeadLettersAsync("booking.requested", "strict"));
        Assert.Contains(named, dead.Reason, StringComparison.OrdinalIgnoreCase);
        Assert.Contains(nameof(BookingRequested), dead.Reason, StringComparison.Ordinal);
        probe.Cancel();
    }

    [Fact]
    public async Task FromFlow_should_ack_the_events_the_user_flow_passes_on()
    {
        await Bus.DeclareGroupAsync("booking.requested", "flowing", ListenSettings.Default);
        await EmitAsync(10);
        var userFlow = Flow.Create<Event<BookingRequested>>().SelectAsync(2, async e =>
        {
            await Task.Yield();
            return e;
        });

        var (control, outcomes) = Bus.Listen<BookingRequested>("booking.requested", "flowing")
            .Via(AckOnCompletion.FromFlow(userFlow, AckOnCompletionSettings.Default))
            .Take(10)
            .ToMaterialized(Sink.Seq<HandledEvent>(), Keep.Both)
            .Run(Materializer);

        Assert.Equal(10, (await outcomes.WaitAsync(TimeSpan.FromSeconds(10))).Count(h => h.Settlement == SettleKind.Ack));
        await control.Completion.WaitAsync(TimeSpan.FromSeconds(10));
    }
}
