using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Twyla.Streams.Transport;
using Xunit;

namespace Twyla.Streams.Tests.Events;

/// <summary>The listen stage's ledger, without Akka: acks never pass an unsettled tag, batches fill, drains count.</summary>
public sealed class AckLedgerTests
{
    private static TransportDelivery Delivery(ulong tag) => TestDeliveries.Create(tag);

    private static (AckLedger Ledger, LedgerEntry[] Entries) Emitted(int count, int batch = 100)
    {
        var ledger = new AckLedger(batch);
        var entries = Enumerable.Range(1, count).Select(i => ledger.Add(Delivery((ulong)i))).ToArray();
        foreach (var e in entries)
        {
            ledger.Emitted(e);
        }

        return (ledger, entries);
    }

    [Fact]
    public void An_ack_out_of_order_should_not_move_the_watermark_past_an_unsettled_tag()
    {
        var (ledger, e) = Emitted(3);

        Assert.False(ledger.Acked(e[1])); // tag 2 acked, tag 1 still open
        Assert.False(ledger.HasPendingAck);
        Assert.True(ledger.Acked(e[0]));
        Assert.Equal(2UL, ledger.TakeAck());
        Assert.False(ledger.HasPendingAck);
        Assert.Equal(1, ledger.EmittedUnsettled);
    }

    [Fact]
    public void A_tag_settled_by_the_transport_should_let_the_watermark_pass_without_acking_it_again()
    {
        var (ledger, e) = Emitted(3);
        ledger.Acked(e[0]);
        ledger.Pending(e[1]); // a reject on its way
        ledger.Acked(e[2]);
        Assert.Equal(1UL, ledger.TakeAck());

        Assert.True(ledger.Done(e[1])); // 2 settled by the transport, 3 acked: the watermark moves to 3
        Assert.Equal(3UL, ledger.TakeAck());
        Assert.Empty(ledger.Unsettled);
        Assert.Equal(0, ledger.EmittedUnsettled);
    }

    [Fact]
    public void The_batch_should_be_full_at_its_size_and_start_over_when_taken()
    {
        var (ledger, e) = Emitted(5, batch: 2);
        ledger.Acked(e[0]);
        Assert.False(ledger.BatchFull);
        ledger.Acked(e[1]);
        Assert.True(ledger.BatchFull);
        Assert.Equal(2UL, ledger.TakeAck());
        Assert.False(ledger.BatchFull);
    }

    [Fact]
    public void A_delivery_arriving_late_should_be_put_in_tag_order()
    {
        var ledger = new AckLedger(10);
        ledger.Add(Delivery(1));
        ledger.Add(Delivery(3));
        ledger.Add(Delivery(2));
        Assert.Equal([1UL, 2UL, 3UL], ledger.Unsettled.Select(x => x.Tag));
    }

    [Fact]
    public void Only_emitted_entries_should_be_found_for_settlement_and_counted_for_a_drain()
    {
        var ledger = new AckLedger(10);
        var invalid = ledger.Add(Delivery(1));
        var valid = ledger.Add(Delivery(2));
        ledger.Emitted(valid);

        Assert.Null(ledger.FindEmitted(1));
        Assert.Same(valid, ledger.FindEmitted(2));
        ledger.Pending(invalid); // dropped without being emitted
        Assert.Equal(1, ledger.EmittedUnsettled);
        ledger.Acked(valid);
        Assert.Equal(0, ledger.EmittedUnsettled);
    }

    [Fact]
    public void The_ack_should_never_go_up_to_a_tag_the_transport_settled_alone()
    {
        var (ledger, e) = Emitted(3);
        ledger.Acked(e[0]);
        ledger.Pending(e[1]);
        ledger.Pending(e[2]);
        ledger.Done(e[1]);
        ledger.Done(e[2]);

        Assert.Equal(1UL, ledger.TakeAck()); // 2 and 3 were acked by their reject or drop: acking them again closes the channel
        Assert.False(ledger.HasPendingAck);
        Assert.Empty(ledger.Unsettled);
    }

    [Fact]
    public void An_ack_by_tag_should_count_only_for_an_emitted_event_still_open()
    {
        var (ledger, e) = Emitted(2);
        ledger.Pending(e[1]);

        Assert.False(ledger.Ack(2)); // its reject is on its way
        Assert.False(ledger.Ack(99)); // not held
        Assert.True(ledger.Ack(1));
        Assert.False(ledger.Ack(1)); // acked already
        Assert.Equal(1UL, ledger.TakeAck());
    }

    [Fact]
    public void Acks_should_go_out_at_once_when_the_batch_is_full_or_the_listener_no_longer_runs()
    {
        var (ledger, e) = Emitted(2, batch: 2);
        ledger.Acked(e[0]);
        Assert.False(ledger.FlushNow(running: true)); // waits for its batch, at most the flush delay
        Assert.True(ledger.FlushNow(running: false));
        ledger.Acked(e[1]);
        Assert.True(ledger.FlushNow(running: true));
    }
}
