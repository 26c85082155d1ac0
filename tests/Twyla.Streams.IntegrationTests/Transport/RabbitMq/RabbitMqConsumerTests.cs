using System.Text;
using RabbitMQ.Client;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.IntegrationTests.Transport.RabbitMq;

public class RabbitMqConsumerTests
{
    private static readonly TimeSpan Quiet = TimeSpan.FromMilliseconds(700);

    [Fact]
    public async Task Malformed_messages_should_become_decode_errors_that_drop_moves_to_the_dead_letter_queue_with_the_reason()
    {
        var settings = Broker.Settings();
        await using var transport = new RabbitMqTransport(settings);
        var topology = TestEvents.Topology("booking.created");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 50, probe, default);
        await using var publisher = await transport.OpenPublisherAsync(default);

        var brokenHeaders = CloudEventsAmqpCodec.Encode(TestEvents.Envelope("booking.created", "{}"));
        brokenHeaders.Headers!["cloudEvents_specversion"] = "0.1";
        var tenMegabytes = Encoding.UTF8.GetBytes("[" + new string('1', 10 * 1024 * 1024) + "]");
        var malformed = new (string Label, BasicProperties Props, byte[] Body, string Reason)[]
        {
            ("non-JSON", new BasicProperties { ContentType = "application/json" }, "this is not json"u8.ToArray(), "not valid JSON"),
            ("wrong content type", new BasicProperties { ContentType = "text/plain" }, "{\"a\":1}"u8.ToArray(), "content type 'text/plain' is not JSON"),
            ("10 MB body", new BasicProperties { ContentType = "application/json" }, tenMegabytes, "is larger than the 4194304 bytes"),
            ("broken CloudEvents headers", brokenHeaders, "{\"a\":1}"u8.ToArray(), "specversion '0.1'"),
        };

        await using (var raw = await Broker.RawConnectionAsync())
        await using (var ch = await raw.CreateChannelAsync(new CreateChannelOptions(true, true)))
        {
            foreach (var m in malformed)
            {
                await ch.BasicPublishAsync(settings.Exchange, "booking.created", true, m.Props, m.Body);
                await publisher.PublishAsync(TestEvents.Envelope("booking.created", $"{{\"after\":\"{m.Label}\"}}"), true, default);
            }
        }

        var got = await probe.TakeAsync(malformed.Length * 2);
        for (var i = 0; i < malformed.Length; i++)
        {
            var bad = got[2 * i];
            var good = got[(2 * i) + 1];
            Assert.Null(bad.Envelope);
            Assert.Contains(malformed[i].Reason, bad.DecodeError, StringComparison.Ordinal);
            Assert.Null(good.DecodeError);
            Assert.Equal($"{{\"after\":\"{malformed[i].Label}\"}}", good.Text());
            await bad.Handle.DropAsync(bad.DecodeError!, default);
        }

        await consumer.AckAsync(got[^1].Tag, multiple: true, default);

        var dead = await transport.ListDeadLettersAsync(topology, 0, 10, default);
        Assert.Equal(malformed.Length, dead.Count);
        for (var i = 0; i < malformed.Length; i++)
        {
            Assert.Contains(malformed[i].Reason, dead[i].Reason, StringComparison.Ordinal);
        }

        Assert.All(dead, d => Assert.Equal("booking.created", d.RoutingKey));
        Assert.Equal("this is not json", dead[0].Body);
        Assert.Equal(64 * 1024, dead[2].Body.Length);
        // Peeking leaves them where they are; the valid events are all acked and gone.
        Assert.Equal(4, (await transport.ListDeadLettersAsync(topology, 0, 10, default)).Count);
        await using var raw2 = await Broker.RawConnectionAsync();
        await using var ch2 = await raw2.CreateChannelAsync();
        Assert.Equal(0u, await ch2.MessageCountAsync(topology.QueueName));
        Assert.Equal(4u, await ch2.MessageCountAsync(topology.DeadLetterQueueName));
        Assert.False(probe.Failed.IsCompleted);
    }

    [Theory]
    [InlineData(QueueType.Classic)]
    [InlineData(QueueType.Quorum)]
    public async Task Reject_should_redeliver_the_event_with_its_delivery_count(QueueType type)
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var topology = TestEvents.Topology("booking.*", type);
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 10, probe, default);
        await using var publisher = await transport.OpenPublisherAsync(default);
        var sent = TestEvents.Envelope("booking.created", "{\"try\":true}", causedBy: "x");
        await publisher.PublishAsync(sent, true, default);

        var first = await probe.NextAsync();
        await first.Handle.RejectAsync(TimeSpan.Zero, "test", default);
        var second = await probe.NextAsync();
        await second.Handle.RejectAsync(TimeSpan.Zero, "test", default);
        var third = await probe.NextAsync();
        await consumer.AckAsync(third.Tag, multiple: true, default);

        Assert.Equal((false, 1), (first.Redelivered, first.DeliveryCount));
        Assert.Equal((true, 2), (second.Redelivered, second.DeliveryCount));
        Assert.Equal((true, 3), (third.Redelivered, third.DeliveryCount));
        Assert.All([second, third], d =>
        {
            Assert.Equal(sent.Metadata, d.Envelope!.Metadata);
            Assert.Equal("booking.created", d.RoutingKey);
            Assert.Equal("{\"try\":true}", d.Text());
        });
        await probe.ExpectNoDeliveryAsync(Quiet);
        Assert.False(probe.Failed.IsCompleted);
    }

    [Fact]
    public async Task The_acks_the_listen_ledger_asks_for_should_skip_deliveries_settled_one_by_one_without_closing_the_channel()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var topology = TestEvents.Topology("order.placed");
        var probe = new DeliveryProbe();
        var consumer = await transport.StartConsumerAsync(topology, 20, probe, default);
        await using var publisher = await transport.OpenPublisherAsync(default);
        for (var i = 1; i <= 6; i++)
        {
            await publisher.PublishAsync(TestEvents.Envelope("order.placed", $"{{\"n\":{i}}}"), true, default);
        }

        // The ledger is the one owner of what is settled; the session does what it is asked.
        var d = await probe.TakeAsync(6);
        var ledger = new AckLedger(batchSize: 100);
        var e = d.Select(ledger.Add).ToArray();
        Array.ForEach(e, ledger.Emitted);
        ledger.Pending(e[1]);
        await d[1].Handle.RejectAsync(TimeSpan.Zero, "test", default); // tag 2 settled alone (requeued as a copy)
        ledger.Pending(e[3]);
        await d[3].Handle.DropAsync("bad order", default); // tag 4 settled alone
        ledger.Pending(e[4]);
        await d[4].Handle.DropAsync("bad order", default); // tag 5 settled alone
        ledger.Acked(e[0]);
        ledger.Acked(e[2]);
        ledger.Done(e[1]);
        ledger.Done(e[3]);
        ledger.Done(e[4]);
        Assert.Equal(d[2].Tag, ledger.TakeAck()); // up to 3, not to 5: 5 was settled alone
        await consumer.AckAsync(d[2].Tag, multiple: true, default); // acks 1 and 3
        ledger.Acked(e[5]);
        Assert.Equal(d[5].Tag, ledger.TakeAck());
        await consumer.AckAsync(d[5].Tag, multiple: true, default); // acks 6, skipping 4 and 5

        var redelivered = await probe.NextAsync();
        Assert.Equal("{\"n\":2}", redelivered.Text());
        await consumer.AckAsync(redelivered.Tag, multiple: true, default);
        await probe.ExpectNoDeliveryAsync(Quiet);
        Assert.False(probe.Failed.IsCompleted, "the channel was closed: an ack hit an already settled tag");
        await consumer.DisposeAsync();

        // Nothing was left unsettled: a new consumer gets nothing.
        var next = new DeliveryProbe();
        await using var again = await transport.StartConsumerAsync(topology, 20, next, default);
        await next.ExpectNoDeliveryAsync(Quiet);
        Assert.Equal(2, (await transport.ListDeadLettersAsync(topology, 0, 10, default)).Count);
    }

    [Fact]
    public async Task A_killed_consumer_session_should_have_its_unacked_events_redelivered_to_another_consumer_of_the_group()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var topology = TestEvents.Topology("seat.reserved");
        var probeA = new DeliveryProbe();
        var a = await transport.StartConsumerAsync(topology, 10, probeA, default);
        await using var publisher = await transport.OpenPublisherAsync(default);
        for (var i = 0; i < 10; i++)
        {
            await publisher.PublishAsync(TestEvents.Envelope("seat.reserved", $"{{\"n\":{i}}}"), true, default);
        }

        var batch = await probeA.TakeAsync(10);
        await a.AckAsync(batch[2].Tag, multiple: true, default); // 0..2 done, 3..9 in flight
        var probeB = new DeliveryProbe();
        await using var b = await transport.StartConsumerAsync(topology, 10, probeB, default);
        await a.DisposeAsync(); // the stream died mid-batch

        var redelivered = await probeB.TakeAsync(7);
        Assert.Equal(Enumerable.Range(3, 7).Select(i => $"{{\"n\":{i}}}"), redelivered.Select(d => d.Text()).Order());
        Assert.All(redelivered, d => Assert.True(d.Redelivered));
        Assert.All(redelivered, d => Assert.Equal(2, d.DeliveryCount));
        await b.AckAsync(redelivered[^1].Tag, multiple: true, default);
        await probeB.ExpectNoDeliveryAsync(Quiet);
        Assert.False(probeA.Failed.IsCompleted, "a session closed by its owner does not report a failure");
    }

    [Fact]
    public async Task Prefetch_should_bound_the_unacked_deliveries_of_a_consumer()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var topology = TestEvents.Topology("ticket.issued");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 5, probe, default);
        await using var publisher = await transport.OpenPublisherAsync(default);
        for (var i = 0; i < 20; i++)
        {
            await publisher.PublishAsync(TestEvents.Envelope("ticket.issued", $"{{\"n\":{i}}}"), true, default);
        }

        var first = await probe.TakeAsync(5);
        await probe.ExpectNoDeliveryAsync(Quiet);
        await consumer.AckAsync(first[1].Tag, multiple: true, default);
        var more = await probe.TakeAsync(2);
        await probe.ExpectNoDeliveryAsync(Quiet);

        Assert.Equal(["{\"n\":5}", "{\"n\":6}"], more.Select(d => d.Text()));
    }

    [Fact]
    public async Task Consumers_of_one_group_should_compete_and_each_group_should_get_every_event()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var billing = TestEvents.Topology("booking.*");
        var audit = TestEvents.Topology("booking.#");
        var billing1 = new DeliveryProbe();
        var billing2 = new DeliveryProbe();
        var auditProbe = new DeliveryProbe();
        await using var c1 = await transport.StartConsumerAsync(billing, 1, billing1, default);
        await using var c2 = await transport.StartConsumerAsync(billing, 1, billing2, default);
        await using var c3 = await transport.StartConsumerAsync(audit, 100, auditProbe, default);
        await using var publisher = await transport.OpenPublisherAsync(default);
        const int n = 40;
        for (var i = 0; i < n; i++)
        {
            await publisher.PublishAsync(TestEvents.Envelope(i % 2 == 0 ? "booking.created" : "booking.cancelled", $"{{\"n\":{i}}}"), true, default);
        }

        // Prefetch 1 and acking one at a time spreads the group's events over both consumers.
        var seen = new List<string>();
        var per = new Dictionary<DeliveryProbe, int> { [billing1] = 0, [billing2] = 0 };
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        int SeenCount()
        {
            lock (seen)
            {
                return seen.Count;
            }
        }

        // Both read until the group's n events were seen (not until a quiet spell: a consumer that stopped early
        // would keep its prefetched event unread).
        async Task Drain(DeliveryProbe probe, IConsumerSession session)
        {
            while (SeenCount() < n && DateTime.UtcNow < deadline)
            {
                TransportDelivery d;
                try
                {
                    d = await probe.NextAsync(TimeSpan.FromMilliseconds(200));
                }
                catch (TimeoutException)
                {
                    continue;
                }

                lock (seen)
                {
                    seen.Add(d.Text());
                    per[probe]++;
                }

                await Task.Delay(5);
                await session.AckAsync(d.Tag, false, default);
            }
        }

        await Task.WhenAll(Drain(billing1, c1), Drain(billing2, c2));
        var audited = await auditProbe.TakeAsync(n);

        Assert.Equal(n, seen.Count);
        Assert.Equal(n, seen.Distinct().Count());
        Assert.True(per[billing1] > 0 && per[billing2] > 0, $"both billing consumers get events ({per[billing1]}/{per[billing2]})");
        Assert.Equal(n, audited.Select(d => d.Text()).Distinct().Count());
    }

    [Fact]
    public async Task A_consumer_should_report_failure_when_the_broker_cancels_it()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var topology = TestEvents.Topology("queue.deleted");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 5, probe, default);

        await using (var raw = await Broker.RawConnectionAsync())
        await using (var ch = await raw.CreateChannelAsync())
        {
            await ch.QueueDeleteAsync(topology.QueueName);
        }

        var cause = await probe.Failed.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Contains(topology.QueueName, cause.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopConsuming_should_stop_deliveries_while_settling_keeps_working()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var topology = TestEvents.Topology("stop.tested");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 2, probe, default);
        await using var publisher = await transport.OpenPublisherAsync(default);
        for (var i = 0; i < 4; i++)
        {
            await publisher.PublishAsync(TestEvents.Envelope("stop.tested", $"{{\"n\":{i}}}"), true, default);
        }

        var first = await probe.TakeAsync(2);
        await consumer.StopConsumingAsync(default);
        await consumer.AckAsync(first[1].Tag, multiple: true, default);

        await probe.ExpectNoDeliveryAsync(Quiet);
        Assert.False(probe.Failed.IsCompleted);
        await using var raw = await Broker.RawConnectionAsync();
        await using var ch = await raw.CreateChannelAsync();
        Assert.Equal(2u, await ch.MessageCountAsync(topology.QueueName));
    }
}
