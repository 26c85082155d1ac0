using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Events;

/// <summary>
/// The listen stage's plain parts between a handler's settlement and a transport call, without Akka: the delivery
/// buffer, the settler's fast path and the answer to settlements that go through the stage.
/// </summary>
public sealed class ListenSettlementTests
{
    private readonly AckLedger _ledger = new(batchSize: 10);
    private readonly ListenLifecycle _lifecycle = new();
    private readonly AckInbox _inbox = new();
    private readonly List<SettleRequest> _throughStage = [];
    private int _wakes;

    private DeliveryBuffer<BookingRequested> Buffer(IEventSettler? settler = null) =>
        new(_ledger, new EventDecoder<BookingRequested>(EventBusSettings.DefaultJsonOptions), settler ?? Settler(), CancellationToken.None);

    private ListenSettler Settler() => new(_inbox, () => _wakes++, r =>
    {
        _throughStage.Add(r);
        return Task.CompletedTask;
    });

    private ListenSettlements Settlements(RetrySchedule? retry = null) => new(_ledger, _lifecycle, retry ?? RetrySchedule.Default, "booking.requested.billing");

    private static SettleRequest Request(ulong tag, SettleKind kind, string? reason = null) =>
        new(tag, kind, reason, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    /// <summary>Delivers and takes <paramref name="count"/> valid events (tags 1..count), as the stage does on demand.</summary>
    private List<Event<BookingRequested>> Emit(int count, int deliveryCount = 1)
    {
        var buffer = Buffer();
        for (var tag = 1; tag <= count; tag++)
        {
            buffer.Add(TestDeliveries.Create((ulong)tag, $$"""{"pnr":"P{{tag}}","seats":1}""", deliveryCount: deliveryCount));
        }

        var events = new List<Event<BookingRequested>>();
        while (buffer.HasWaiting)
        {
            events.Add(Assert.IsType<Event<BookingRequested>>(buffer.TakeNext(out _, out _)));
        }

        return events;
    }

    [Fact]
    public void Buffer_should_emit_a_valid_delivery_as_an_event_the_drain_waits_for()
    {
        var buffer = Buffer();
        buffer.Add(TestDeliveries.Create(7, """{"pnr":"AB12","seats":2}""", deliveryCount: 3));

        var e = buffer.TakeNext(out var entry, out _);

        Assert.NotNull(e);
        Assert.Equal(new BookingRequested("AB12", 2), e.Payload);
        Assert.Equal(("id-7", 3, true), (e.Metadata.Id, e.DeliveryCount, e.Redelivered));
        Assert.Same(entry, _ledger.FindEmitted(7));
        Assert.Equal(1, _ledger.EmittedUnsettled);
        Assert.False(buffer.HasWaiting);
    }

    [Fact]
    public void Buffer_should_hold_a_delivery_that_does_not_fit_the_contract_for_its_drop_and_never_emit_it()
    {
        var buffer = Buffer();
        buffer.Add(TestDeliveries.Create(1, """{"pnr":"AB12"}"""));

        Assert.Null(buffer.TakeNext(out var entry, out var reason));
        Assert.Contains("seats", reason, StringComparison.Ordinal);
        Assert.Equal(LedgerEntryState.OpPending, entry.State);
        Assert.Null(_ledger.FindEmitted(1));
        Assert.Equal(0, _ledger.EmittedUnsettled);
    }

    [Fact]
    public async Task Settler_should_complete_an_ack_at_once_and_wake_the_stage_once_per_burst_while_the_inbox_is_open()
    {
        var e = Emit(3);
        _inbox.IsOpen = true;

        await Task.WhenAll(e.Select(x => x.AckAsync()));

        Assert.Equal(1, _wakes);
        Assert.Empty(_throughStage);
        var drained = new List<ulong>();
        _inbox.Drain(drained.Add);
        Assert.Equal([1UL, 2UL, 3UL], drained);
    }

    [Fact]
    public async Task Settler_should_send_rejects_and_acks_after_the_inbox_closed_through_the_stage_and_wait_for_its_answer()
    {
        var e = Emit(2);
        _inbox.IsOpen = true;
        var reject = e[0].RejectAsync();
        _inbox.IsOpen = false;
        var ack = e[1].AckAsync();

        Assert.Equal([(1UL, SettleKind.Reject), (2UL, SettleKind.Ack)], _throughStage.Select(r => (r.Tag, r.Kind)));
        Assert.False(reject.IsCompleted);
        Assert.Equal(0, _wakes);
        _throughStage[0].Done.SetResult();
        _throughStage[1].Done.SetException(new EventSettlementException("closing"));
        await reject;
        await Assert.ThrowsAsync<EventSettlementException>(() => ack);
    }

    [Fact]
    public void Settlements_should_turn_a_reject_into_a_retry_after_the_delay_of_its_delivery_count()
    {
        Emit(1, deliveryCount: 2);
        _lifecycle.Started();
        var calls = new List<ListenCall>();
        var request = Request(1, SettleKind.Reject, "TimeoutException: no answer");

        Assert.False(Settlements().Settle(request, calls.Add));

        var call = Assert.Single(calls);
        Assert.Equal((ListenCallKind.Reject, 1UL, "TimeoutException: no answer", TimeSpan.FromSeconds(5)), (call.Kind, call.Entry!.Tag, call.Reason, call.Delay));
        Assert.Same(request.Done, call.Entry.Waiter); // answered once the transport did it
        Assert.False(request.Done.Task.IsCompleted);
        Assert.Equal(0, _ledger.EmittedUnsettled);
    }

    [Fact]
    public void Settlements_should_turn_a_drop_into_a_dead_letter_call_with_its_reason()
    {
        Emit(1);
        _lifecycle.Started();
        var calls = new List<ListenCall>();

        Settlements().Settle(Request(1, SettleKind.Drop, "price must be positive"), calls.Add);

        Assert.Equal((ListenCallKind.Drop, "price must be positive"), (Assert.Single(calls).Kind, calls[0].Reason));
    }

    [Fact]
    public async Task Settlements_should_record_an_ack_at_once_and_answer_a_later_reject_of_it_without_a_call()
    {
        Emit(1);
        _lifecycle.Started();
        var calls = new List<ListenCall>();
        var ack = Request(1, SettleKind.Ack);

        Assert.True(Settlements().Settle(ack, calls.Add)); // the watermark moved: tag 1 goes out with the next batch
        await ack.Done.Task;
        Assert.Equal(1UL, _ledger.TakeAck());

        var reject = Request(1, SettleKind.Reject);
        Assert.False(Settlements().Settle(reject, calls.Add));
        Assert.Empty(calls);
    }

    [Fact]
    public async Task Settlements_should_refuse_once_the_listener_closes_so_the_event_goes_back_to_the_queue()
    {
        Emit(1);
        _lifecycle.Started();
        _lifecycle.Close();
        var calls = new List<ListenCall>();
        var reject = Request(1, SettleKind.Reject);

        Assert.False(Settlements().Settle(reject, calls.Add));

        Assert.Empty(calls);
        var ex = await Assert.ThrowsAsync<EventSettlementException>(() => reject.Done.Task);
        Assert.Contains("'booking.requested.billing' is closing", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, _ledger.EmittedUnsettled);
    }
}
