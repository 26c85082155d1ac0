using Twyla.Streams.Transport;

namespace Twyla.Streams.Events;

/// <summary>
/// The listen stage's ledger of the deliveries it holds: which are unsettled, in tag order, and up to which tag an
/// ack with <c>multiple=true</c> may go. Plain state, no Akka: the stage calls it on its own turn.
/// </summary>
/// <remarks>
/// An ack never covers an unsettled tag: the watermark only moves over a contiguous run of entries that were acked
/// (and are then acked by the batch) or settled one by one by the transport (a reject or drop acked its own tag).
/// The batch is due when it holds <see cref="BatchSize"/> acks; the stage also flushes it on a timer and at stop.
/// </remarks>
internal sealed class AckLedger(int batchSize)
{
    private readonly LinkedList<LedgerEntry> _unsettled = new();
    private readonly Dictionary<ulong, LinkedListNode<LedgerEntry>> _byTag = [];
    private ulong _ackTag;
    private int _ackPending;

    /// <summary>How many acks make a batch due.</summary>
    public int BatchSize { get; } = Math.Max(1, batchSize);

    /// <summary>Entries handed downstream and not yet settled (what a drain waits for).</summary>
    public int EmittedUnsettled { get; private set; }

    /// <summary>Whether acks are waiting for their batch.</summary>
    public bool HasPendingAck => _ackTag != 0;

    /// <summary>Whether the waiting acks fill a batch.</summary>
    public bool BatchFull => _ackPending >= BatchSize;

    /// <summary>
    /// Whether the acks waiting for their batch go out now (the batch is full, or the listener no longer runs);
    /// otherwise they wait at most the flush delay. Not "when nothing emitted is pending": under a steady stream each
    /// event is handled before the next one arrives, so that rule sent one ack per event and the broker paid for each.
    /// </summary>
    public bool FlushNow(bool running) => BatchFull || !running;

    /// <summary>Every entry not settled at the broker yet, in tag order.</summary>
    public IEnumerable<LedgerEntry> Unsettled => _unsettled;

    /// <summary>Records a delivery (tags usually arrive in order; a later, smaller one is still put in its place).</summary>
    public LedgerEntry Add(TransportDelivery delivery)
    {
        var entry = new LedgerEntry(delivery);
        var after = _unsettled.Last;
        while (after is not null && after.Value.Tag > entry.Tag)
        {
            after = after.Previous;
        }

        _byTag[entry.Tag] = after is null ? _unsettled.AddFirst(entry) : _unsettled.AddAfter(after, entry);
        return entry;
    }

    /// <summary>The entry of <paramref name="tag"/> if it was handed downstream and is still held, else <c>null</c>.</summary>
    public LedgerEntry? FindEmitted(ulong tag) =>
        _byTag.TryGetValue(tag, out var node) && node.Value.Emitted ? node.Value : null;

    /// <summary>The entry was handed downstream.</summary>
    public void Emitted(LedgerEntry entry)
    {
        entry.Emitted = true;
        EmittedUnsettled++;
    }

    /// <summary>
    /// An ack of <paramref name="tag"/>: recorded if the entry was handed downstream and is still open (anything else
    /// was settled already or is gone). Returns whether the watermark moved. The ack is done for its caller then: it
    /// reaches the broker with the next batch (waiting for it would hold handler slots hostage to the flush timer; if
    /// the flush fails, the listener fails and the broker redelivers: at-least-once).
    /// </summary>
    public bool Ack(ulong tag) => FindEmitted(tag) is { State: LedgerEntryState.Open } entry && Acked(entry);

    /// <summary>Recorded as acked: it goes out with the batch. Returns whether the watermark moved.</summary>
    public bool Acked(LedgerEntry entry)
    {
        Settling(entry);
        entry.State = LedgerEntryState.Acked;
        return Advance();
    }

    /// <summary>A reject or drop is on its way to the transport, which settles the tag itself.</summary>
    public void Pending(LedgerEntry entry)
    {
        Settling(entry);
        entry.State = LedgerEntryState.OpPending;
    }

    /// <summary>The transport settled the entry (its reject or drop is done). Returns whether the watermark moved.</summary>
    public bool Done(LedgerEntry entry)
    {
        entry.State = LedgerEntryState.Done;
        return Advance();
    }

    /// <summary>The tag the next <c>basic.ack multiple=true</c> goes up to; the batch starts over.</summary>
    public ulong TakeAck()
    {
        var tag = _ackTag;
        _ackTag = 0;
        _ackPending = 0;
        return tag;
    }

    private void Settling(LedgerEntry entry)
    {
        if (entry.Emitted && entry.State == LedgerEntryState.Open)
        {
            EmittedUnsettled--;
        }
    }

    private bool Advance()
    {
        var advanced = false;
        while (_unsettled.First is { } first && first.Value.State is LedgerEntryState.Acked or LedgerEntryState.Done)
        {
            var entry = first.Value;
            _unsettled.RemoveFirst();
            _byTag.Remove(entry.Tag);
            if (entry.State == LedgerEntryState.Acked)
            {
                _ackTag = entry.Tag;
                _ackPending++;
                advanced = true;
            }
        }

        return advanced;
    }
}

/// <summary>Where a delivery held by the listen stage is.</summary>
internal enum LedgerEntryState
{
    /// <summary>Not settled.</summary>
    Open,

    /// <summary>Acked by the pipeline; the ack goes out with a batch.</summary>
    Acked,

    /// <summary>A reject or drop is being done by the transport.</summary>
    OpPending,

    /// <summary>Settled by the transport one by one.</summary>
    Done,
}

/// <summary>One delivery in the <see cref="AckLedger"/>.</summary>
internal sealed class LedgerEntry(TransportDelivery delivery)
{
    public TransportDelivery Delivery { get; } = delivery;

    public ulong Tag => Delivery.Tag;

    public LedgerEntryState State { get; set; }

    public bool Emitted { get; set; }

    /// <summary>The caller waiting for this entry's reject or drop.</summary>
    public TaskCompletionSource? Waiter { get; set; }
}
