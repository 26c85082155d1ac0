using Twyla.Streams.Transport;

namespace Twyla.Streams.Events;

/// <summary>
/// The deliveries the listen stage holds until downstream asks for them (at most the prefetch): each is recorded in
/// the <see cref="AckLedger"/> on arrival and decoded when taken, so a delivery is either emitted as an
/// <see cref="Event{T}"/> settled through <paramref name="settler"/>, or, when it does not fit the contract
/// <typeparamref name="T"/>, on its way to the dead letters. Plain state, no Akka.
/// </summary>
internal sealed class DeliveryBuffer<T>(AckLedger ledger, EventDecoder<T> decoder, IEventSettler settler, CancellationToken handlers)
{
    private readonly Queue<LedgerEntry> _waiting = new();

    /// <summary>Whether a delivery waits for demand.</summary>
    public bool HasWaiting => _waiting.Count > 0;

    /// <summary>Records <paramref name="delivery"/> in the ledger and keeps it until it is taken.</summary>
    public void Add(TransportDelivery delivery) => _waiting.Enqueue(ledger.Add(delivery));

    /// <summary>
    /// Takes the oldest waiting delivery: its event (the ledger counts it as emitted), or <c>null</c> with the reason
    /// it is dead-lettered (the ledger holds its drop as pending).
    /// </summary>
    public Event<T>? TakeNext(out LedgerEntry entry, out string deadLetterReason)
    {
        entry = _waiting.Dequeue();
        var delivery = entry.Delivery;
        if (!decoder.TryDecode(delivery, out var payload, out deadLetterReason))
        {
            ledger.Pending(entry);
            return null;
        }

        ledger.Emitted(entry);
        var envelope = delivery.Envelope!;
        return new Event<T>(
            payload, envelope.Metadata, delivery.Redelivered, delivery.DeliveryCount, delivery.LastFailure, settler, delivery.Tag,
            envelope.TraceParent, envelope.TraceState, handlers) { BodySize = envelope.Data.Length };
    }
}
