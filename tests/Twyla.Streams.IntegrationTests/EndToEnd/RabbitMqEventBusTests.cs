using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Streams;
using Akka.Streams.Dsl;
using RabbitMQ.Client;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.IntegrationTests.EndToEnd;

public sealed record BookingCreated(string BookingId, int Seats);

public sealed record InvoiceCreated(string InvoiceId, string BookingId);

/// <summary>The public API (EventBus, listen, ack on completion, emit) on a real RabbitMQ node.</summary>
public class RabbitMqEventBusTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private readonly IMaterializer _mat;

    public RabbitMqEventBusTests()
    {
        _mat = Sys.Materializer();
    }

    private static EventBus Bus(RabbitMqSettings rabbit, string service = "booking-api") =>
        EventBus.RabbitMq(rabbit, EventBusSettings.Create(service));

    [Fact]
    public async Task Typed_events_should_round_trip_with_all_metadata_and_derived_events_should_carry_the_chain()
    {
        var rabbit = Broker.Settings();
        await using var booking = Bus(rabbit, "booking-api");
        await using var billing = Bus(rabbit, "billing");
        var bookingGroup = TestEvents.Group();
        var invoiceGroup = TestEvents.Group();
        await billing.DeclareGroupAsync("booking.created", bookingGroup, ListenSettings.Default);
        await booking.DeclareGroupAsync("invoice.created", invoiceGroup, ListenSettings.Default);

        var received = new TaskCompletionSource<Event<BookingCreated>>();
        var billingListener = billing.Listen<BookingCreated>("booking.created", bookingGroup)
            .ToMaterialized(AckOnCompletion.Sink<BookingCreated>(async e =>
            {
                received.TrySetResult(e);
                await billing.EmitAsync(e.Derive("invoice.created", new InvoiceCreated("I-1", e.Payload.BookingId)));
            }, AckOnCompletionSettings.Default), Keep.Left)
            .Run(_mat);
        var invoices = booking.Listen<InvoiceCreated>("invoice.created", invoiceGroup)
            .SelectAsync(1, async e =>
            {
                await e.AckAsync();
                return e;
            })
            .RunWith(Sink.First<Event<InvoiceCreated>>(), _mat);

        var before = DateTimeOffset.UtcNow.AddSeconds(-1);
        var emitted = await booking.EmitAsync("booking.created", new BookingCreated("B-1", 2));
        var booked = await received.Task.WaitAsync(Wait);
        var invoice = await invoices.WaitAsync(Wait);

        Assert.Equal(new BookingCreated("B-1", 2), booked.Payload);
        Assert.Equal(emitted, booked.Metadata);
        Assert.Equal("booking-api", booked.Metadata.Source);
        Assert.True(booked.Metadata.IsChainStart);
        Assert.Equal(booked.Metadata.Id, booked.Metadata.CorrelationId);
        Assert.InRange(booked.Metadata.Time, before, DateTimeOffset.UtcNow.AddSeconds(1));
        Assert.Equal((false, 1), (booked.Redelivered, booked.DeliveryCount));
        Assert.Equal(new InvoiceCreated("I-1", "B-1"), invoice.Payload);
        Assert.Equal("billing", invoice.Metadata.Source);
        Assert.Equal(booked.Metadata.Id, invoice.Metadata.CausationId);
        Assert.Equal(booked.Metadata.CorrelationId, invoice.Metadata.CorrelationId);
        await billingListener.ShutdownAsync().WaitAsync(Wait);
    }

    [Fact]
    public async Task Untyped_events_should_round_trip_as_JSON()
    {
        await using var bus = Bus(Broker.Settings());
        var group = TestEvents.Group();
        await bus.DeclareGroupAsync("audit.#", group, ListenSettings.Default);
        var first = bus.Listen<JsonElement>("audit.#", group)
            .SelectAsync(1, async e =>
            {
                await e.AckAsync();
                return e;
            })
            .RunWith(Sink.First<Event<JsonElement>>(), _mat);

        var payload = new JsonObject { ["who"] = "zoë", ["what"] = new JsonArray(1, 2, 3), ["nested"] = new JsonObject { ["ok"] = true } };
        await Source.Single(payload).RunWith(bus.Emit<JsonObject>("audit.user.logged-in"), _mat).WaitAsync(Wait);
        var e = await first.WaitAsync(Wait);

        Assert.Equal("audit.user.logged-in", e.Name);
        Assert.Equal("zoë", e.Payload.GetProperty("who").GetString());
        Assert.Equal(3, e.Payload.GetProperty("what").GetArrayLength());
        Assert.True(e.Payload.GetProperty("nested").GetProperty("ok").GetBoolean());
    }

    [Fact]
    public async Task Messages_from_plain_publishers_in_structured_mode_or_without_CloudEvents_headers_should_be_received()
    {
        var rabbit = Broker.Settings();
        await using var bus = Bus(rabbit);
        var group = TestEvents.Group();
        await bus.DeclareGroupAsync("booking.created", group, ListenSettings.Default);
        var two = bus.Listen<BookingCreated>("booking.created", group)
            .SelectAsync(1, async e =>
            {
                await e.AckAsync();
                return e;
            })
            .Take(2)
            .RunWith(Sink.Seq<Event<BookingCreated>>(), _mat);

        await using (var raw = await Broker.RawConnectionAsync())
        await using (var ch = await raw.CreateChannelAsync())
        {
            var structured = """
                {"specversion":"1.0","id":"legacy-1","type":"booking.created","source":"legacy-booking","time":"2026-01-02T03:04:05Z",
                 "datacontenttype":"application/json","data":{"bookingId":"S-1","seats":1}}
                """;
            await ch.BasicPublishAsync(rabbit.Exchange, "booking.created", false,
                new BasicProperties { ContentType = "application/cloudevents+json" }, Encoding.UTF8.GetBytes(structured));
            await ch.BasicPublishAsync(rabbit.Exchange, "booking.created", false,
                new BasicProperties { ContentType = "application/json" }, "{\"bookingId\":\"P-1\",\"seats\":4}"u8.ToArray());
        }

        var got = await two.WaitAsync(Wait);
        Assert.Equal([new BookingCreated("S-1", 1), new BookingCreated("P-1", 4)], got.Select(e => e.Payload));
        Assert.Equal(("legacy-1", "legacy-booking"), (got[0].Metadata.Id, got[0].Metadata.Source));
        Assert.Equal("booking.created", got[1].Metadata.Name);
        Assert.True(got[1].Metadata.IsChainStart);
    }

    [Fact]
    public async Task Malformed_input_should_land_in_the_dead_letter_queue_with_a_reason_while_the_listener_keeps_going()
    {
        var rabbit = Broker.Settings();
        await using var bus = Bus(rabbit);
        var group = TestEvents.Group();
        await bus.DeclareGroupAsync("booking.created", group, ListenSettings.Default);
        var valid = new ConcurrentQueue<BookingCreated>();
        var control = bus.Listen<BookingCreated>("booking.created", group)
            .ToMaterialized(AckOnCompletion.Sink<BookingCreated>(e =>
            {
                valid.Enqueue(e.Payload);
                return Task.CompletedTask;
            }, AckOnCompletionSettings.Default), Keep.Left)
            .Run(_mat);

        var brokenHeaders = new BasicProperties
        {
            ContentType = "application/json",
            Headers = new Dictionary<string, object?> { ["cloudEvents_specversion"] = "1.0", ["cloudEvents_type"] = "booking.created" }, // no id, no source
        };
        var bad = new (string Label, BasicProperties Props, byte[] Body, string Reason)[]
        {
            ("non-JSON", new BasicProperties { ContentType = "application/json" }, "<booking/>"u8.ToArray(), "not valid JSON"),
            ("wrong shape", new BasicProperties { ContentType = "application/json" }, "{\"id\":\"B\",\"count\":\"many\"}"u8.ToArray(), "does not match the contract BookingCreated"),
            ("10 MB", new BasicProperties { ContentType = "application/json" }, Encoding.UTF8.GetBytes("\"" + new string('x', 10 * 1024 * 1024) + "\""), "larger than"),
            ("wrong content type", new BasicProperties { ContentType = "application/xml" }, "{\"bookingId\":\"B\",\"seats\":1}"u8.ToArray(), "'application/xml' is not JSON"),
            ("broken CloudEvents headers", brokenHeaders, "{\"bookingId\":\"B\",\"seats\":1}"u8.ToArray(), "lack the required id"),
        };
        await using (var raw = await Broker.RawConnectionAsync())
        await using (var ch = await raw.CreateChannelAsync(new CreateChannelOptions(true, true)))
        {
            var n = 0;
            foreach (var b in bad)
            {
                await ch.BasicPublishAsync(rabbit.Exchange, "booking.created", true, b.Props, b.Body);
                await bus.EmitAsync("booking.created", new BookingCreated($"OK-{n++}", 1));
            }
        }

        var dead = await TestEvents.Eventually(() => bus.PeekDeadLettersAsync("booking.created", group), d => d.Count >= bad.Length);
        await TestEvents.Eventually(() => Task.FromResult(valid.Count), c => c >= bad.Length);

        Assert.Equal(Enumerable.Range(0, bad.Length).Select(i => $"OK-{i}"), valid.Select(v => v.BookingId));
        Assert.Equal(bad.Length, dead.Count);
        foreach (var b in bad)
        {
            Assert.Contains(dead, d => d.Reason.Contains(b.Reason, StringComparison.Ordinal));
        }

        Assert.False(control.Completion.IsCompleted, "the listener keeps running");
        await bus.EmitAsync("booking.created", new BookingCreated("OK-last", 1));
        await TestEvents.Eventually(() => Task.FromResult(valid.Count), c => c == bad.Length + 1);
        await control.ShutdownAsync().WaitAsync(Wait);
    }

    [Theory]
    [InlineData(QueueType.Classic)]
    [InlineData(QueueType.Quorum)]
    public async Task A_failing_handler_should_be_retried_up_to_max_deliveries_then_dead_lettered_with_the_reason(QueueType queueType)
    {
        await using var bus = Bus(Broker.Settings());
        var group = TestEvents.Group();
        var settings = ListenSettings.Default.WithQueueType(queueType);
        await bus.DeclareGroupAsync("payment.failed", group, settings);
        var deliveries = new ConcurrentQueue<(int Count, bool Redelivered)>();
        var control = bus.Listen<BookingCreated>("payment.failed", group, settings)
            .ToMaterialized(AckOnCompletion.Sink<BookingCreated>(e =>
            {
                deliveries.Enqueue((e.DeliveryCount, e.Redelivered));
                throw new InvalidOperationException("card declined");
            }, AckOnCompletionSettings.Default.WithMaxDeliveries(3)), Keep.Left)
            .Run(_mat);

        await bus.EmitAsync("payment.failed", new BookingCreated("B-9", 1));

        var dead = await TestEvents.Eventually(() => bus.PeekDeadLettersAsync("payment.failed", group), d => d.Count == 1);
        Assert.Equal([(1, false), (2, true), (3, true)], deliveries);
        Assert.Contains("card declined", dead[0].Reason, StringComparison.Ordinal);
        Assert.Contains("delivery 3 of 3", dead[0].Reason, StringComparison.Ordinal);
        Assert.Equal("payment.failed", dead[0].RoutingKey);
        Assert.Equal("B-9", JsonDocument.Parse(dead[0].Body).RootElement.GetProperty("bookingId").GetString());
        await control.ShutdownAsync().WaitAsync(Wait);
    }

    [Fact]
    public async Task Emits_the_broker_refuses_should_fail_clearly_naming_the_event()
    {
        // A queue that takes no message (length limit 0, reject-publish) bound to the event: the broker nacks every publish.
        var settings = Broker.Settings();
        await using var bus = Bus(settings);
        await bus.DeclareGroupAsync("booking.created", TestEvents.Group(), ListenSettings.Default);
        var full = "full-" + Guid.NewGuid().ToString("N")[..10];
        await using var raw = await Broker.RawConnectionAsync();
        await using var channel = await raw.CreateChannelAsync();
        await channel.QueueDeclareAsync(
            full, durable: false, exclusive: false, autoDelete: false,
            arguments: new Dictionary<string, object?> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" });
        await channel.QueueBindAsync(full, settings.Exchange, "booking.created");
        try
        {
            var done = Source.Single(new BookingCreated("B-1", 1)).RunWith(bus.Emit<BookingCreated>("booking.created"), _mat);
            var streamError = await Assert.ThrowsAsync<EmitException>(() => done.WaitAsync(Wait));
            Assert.Contains("(booking.created)", streamError.Message, StringComparison.Ordinal);
            Assert.Contains("was refused by the broker (nack)", streamError.Message, StringComparison.Ordinal);

            var single = await Assert.ThrowsAsync<EmitException>(() => bus.EmitAsync("booking.created", new BookingCreated("B-2", 2)).WaitAsync(Wait));
            Assert.Contains("was refused by the broker (nack)", single.Message, StringComparison.Ordinal);
        }
        finally
        {
            await channel.QueueDeleteAsync(full);
        }
    }

    [Fact]
    public async Task A_mandatory_emit_of_an_event_nobody_listens_to_should_fail_clearly()
    {
        await using var bus = Bus(Broker.Settings());

        var done = Source.Single(new BookingCreated("B-404", 1))
            .RunWith(bus.Emit<BookingCreated>("nobody.listens", EmitSettings.Default.WithMandatory(true)), _mat);

        var e = await Assert.ThrowsAsync<EmitException>(() => done.WaitAsync(Wait));
        Assert.Contains("nobody.listens", e.Message, StringComparison.Ordinal);
        Assert.Contains("no queue bound", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_listener_whose_queue_exists_with_other_arguments_should_fail_naming_queue_and_argument()
    {
        await using var bus = Bus(Broker.Settings());
        var group = TestEvents.Group();
        await bus.DeclareGroupAsync("booking.created", group, ListenSettings.Default);

        var control = bus.Listen<BookingCreated>("booking.created", group, ListenSettings.Default.WithQueueType(QueueType.Quorum))
            .To(Sink.Ignore<Event<BookingCreated>>())
            .Run(_mat);

        var failure = await Assert.ThrowsAsync<ListenException>(() => control.Completion.WaitAsync(Wait));
        var e = Assert.IsType<TopologyConflictException>(failure.InnerException);
        Assert.Contains($"booking.created.{group}", failure.Message, StringComparison.Ordinal);
        Assert.Equal($"booking.created.{group}", e.Name);
        Assert.Equal("x-queue-type", e.Argument);
    }

    [Fact]
    public async Task Events_of_a_stream_killed_mid_batch_should_be_redelivered_to_another_listener_of_the_group()
    {
        await using var bus = Bus(Broker.Settings());
        var group = TestEvents.Group();
        var settings = ListenSettings.Default.WithPrefetch(20).WithDrainTimeout(TimeSpan.Zero);
        await bus.DeclareGroupAsync("seat.reserved", group, settings);
        for (var i = 0; i < 10; i++)
        {
            await bus.EmitAsync("seat.reserved", new BookingCreated($"S-{i}", i));
        }

        // Listener A acks the first three and hangs on the rest, then its stream is killed.
        var seenByA = new ConcurrentQueue<string>();
        var hang = new TaskCompletionSource();
        var (a, killSwitch) = bus.Listen<BookingCreated>("seat.reserved", group, settings)
            .ViaMaterialized(KillSwitches.Single<Event<BookingCreated>>(), Keep.Both)
            .ToMaterialized(AckOnCompletion.Sink<BookingCreated>(e =>
            {
                seenByA.Enqueue(e.Payload.BookingId);
                return e.Payload.Seats < 3 ? Task.CompletedTask : hang.Task;
            }, AckOnCompletionSettings.Create(20)), Keep.Left)
            .Run(_mat);
        await TestEvents.Eventually(() => Task.FromResult(seenByA.Count), c => c == 10);
        killSwitch.Abort(new InvalidOperationException("the service crashed"));
        await a.Completion.ContinueWith(_ => { }).WaitAsync(Wait); // the consumer is closed

        var redelivered = await bus.Listen<BookingCreated>("seat.reserved", group, settings)
            .SelectAsync(1, async e =>
            {
                await e.AckAsync();
                return e;
            })
            .Take(7)
            .RunWith(Sink.Seq<Event<BookingCreated>>(), _mat)
            .WaitAsync(Wait);

        Assert.Equal(Enumerable.Range(3, 7).Select(i => $"S-{i}"), redelivered.Select(e => e.Payload.BookingId).Order());
        Assert.All(redelivered, e => Assert.True(e.Redelivered));
        hang.SetResult();
    }

    [Fact]
    public async Task A_listener_cancelled_downstream_should_ack_what_it_handled_and_give_the_rest_back_to_the_group()
    {
        await using var bus = Bus(Broker.Settings());
        var group = TestEvents.Group();
        var settings = ListenSettings.Default.WithPrefetch(20);
        await bus.DeclareGroupAsync("seat.released", group, settings);
        for (var i = 0; i < 20; i++)
        {
            await bus.EmitAsync("seat.released", new BookingCreated($"R-{i}", i));
        }

        // Listener A holds up to 20 deliveries, handles and acks five, then its downstream is done (Take). The stage
        // after the handler may already have pulled a sixth event when Take cancels: its handler never finishes, so
        // it is not acked and goes back to the queue when A's drain times out (kept short here).
        var calls = 0;
        var never = new TaskCompletionSource();
        var (controlA, handledTask) = bus.Listen<BookingCreated>("seat.released", group, settings.WithDrainTimeout(TimeSpan.FromSeconds(1)))
            .Via(AckOnCompletion.Flow<BookingCreated>(
                _ => Interlocked.Increment(ref calls) <= 5 ? Task.CompletedTask : never.Task, AckOnCompletionSettings.Create(1)))
            .Take(5)
            .ToMaterialized(Sink.Seq<HandledEvent>(), Keep.Both)
            .Run(_mat);
        var handledByA = await handledTask.WaitAsync(Wait);
        Assert.All(handledByA, h => Assert.Equal(SettleKind.Ack, h.Settlement));
        await controlA.Completion.WaitAsync(Wait);

        // Its channel let go of everything else: another listener of the group gets exactly the other fifteen.
        var rest = await bus.Listen<BookingCreated>("seat.released", group, settings)
            .SelectAsync(1, async e =>
            {
                await e.AckAsync();
                return e.Metadata.Id;
            })
            .Take(15)
            .RunWith(Sink.Seq<string>(), _mat)
            .WaitAsync(Wait);
        Assert.Empty(rest.Intersect(handledByA.Select(h => h.Metadata.Id)));
        Assert.Equal(15, rest.Distinct().Count());
    }

    [Fact]
    public async Task Groups_should_each_get_every_event_listeners_of_one_group_should_compete_and_prefetch_should_bound_them()
    {
        await using var bus = Bus(Broker.Settings());
        var billing = TestEvents.Group();
        var audit = TestEvents.Group();
        var prefetch = ListenSettings.Default.WithPrefetch(3);
        await bus.DeclareGroupAsync("booking.*", billing, prefetch);
        await bus.DeclareGroupAsync("booking.*", audit, prefetch);
        const int n = 30;

        var perListener = new ConcurrentDictionary<string, ConcurrentBag<string>>();
        var inHandler = new ConcurrentDictionary<string, int[]>(); // name -> [now, max]
        IListenControl Run(string group, string name) => bus.Listen<BookingCreated>("booking.*", group, prefetch)
            .ToMaterialized(AckOnCompletion.Sink<BookingCreated>(async e =>
            {
                var counters = inHandler.GetOrAdd(name, _ => new int[2]);
                InterlockedMax(ref counters[1], Interlocked.Increment(ref counters[0]));
                perListener.GetOrAdd(name, _ => []).Add(e.Payload.BookingId);
                await Task.Delay(50); // long enough for a listener's prefetched events to be in its handler together
                Interlocked.Decrement(ref counters[0]);
            }, AckOnCompletionSettings.Create(50)), Keep.Left)
            .Run(_mat);

        // Both billing listeners consume before the events are emitted, so neither can take them all alone; the
        // audit listener starts after them and finds its queue holding every event.
        var controls = new[] { Run(billing, "billing-1"), Run(billing, "billing-2") };
        await using (var raw = await Broker.RawConnectionAsync())
        await using (var channel = await raw.CreateChannelAsync())
        {
            await TestEvents.Eventually(() => channel.ConsumerCountAsync($"booking.*.{billing}"), c => c == 2);
        }

        for (var i = 0; i < n; i++)
        {
            await bus.EmitAsync(i % 2 == 0 ? "booking.created" : "booking.changed", new BookingCreated($"B-{i}", i));
        }

        await TestEvents.Eventually(() => Task.FromResult(perListener.Values.Sum(b => b.Count)), c => c == n);
        var auditControl = Run(audit, "audit");
        await TestEvents.Eventually(() => Task.FromResult(perListener.GetValueOrDefault("audit")?.Count ?? 0), c => c == n);

        var b1 = perListener["billing-1"];
        var b2 = perListener["billing-2"];
        Assert.Equal(n, b1.Concat(b2).Distinct().Count());
        Assert.True(b1.Count > 0 && b2.Count > 0, $"both billing listeners got events ({b1.Count}/{b2.Count})");
        Assert.Equal(n, perListener["audit"].Distinct().Count());
        // Handler parallelism is 50, yet no listener ever holds more than its prefetch of 3 events.
        Assert.All(inHandler, kv => Assert.InRange(kv.Value[1], 1, 3));
        Assert.Equal(3, inHandler["audit"][1]);
        foreach (var c in controls.Append(auditControl))
        {
            await c.DrainAsync().WaitAsync(Wait);
        }
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int current;
        while ((current = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, current) != current)
        {
        }
    }
}
