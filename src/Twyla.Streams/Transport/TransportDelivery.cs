namespace Twyla.Streams.Transport;

/// <summary>
/// One message handed by a transport consumer to the listen stage.
/// </summary>
/// <param name="Tag">Delivery tag, increasing per consumer session, as AMQP's.</param>
/// <param name="Envelope">The decoded event, or <c>null</c> when the message could not be decoded.</param>
/// <param name="DecodeError">Why the message could not be decoded (the dead-letter reason), or <c>null</c>.</param>
/// <param name="Redelivered">Whether the broker delivered this message before.</param>
/// <param name="DeliveryCount">How many times this message was delivered, this delivery included (1 the first time).</param>
/// <param name="RoutingKey">The routing key it was published with.</param>
/// <param name="LastFailure">Why the previous delivery was rejected (the handler's failure), or <c>null</c>.</param>
/// <param name="Handle">How this delivery is settled alone (a reject or a drop), by the session that delivered it.</param>
internal sealed record TransportDelivery(
    ulong Tag,
    EventEnvelope? Envelope,
    string? DecodeError,
    bool Redelivered,
    int DeliveryCount,
    string RoutingKey,
    string? LastFailure,
    IDeliveryHandle Handle);

/// <summary>
/// What a consumer session keeps of one of its deliveries to settle it alone later: made by the session that
/// delivered it (with what that transport needs, e.g. a body copy and headers), so it settles on that session and
/// no other. Which deliveries are settled is the listen stage's to know (its <c>AckLedger</c>): it settles each
/// delivery once, and never acks with <c>multiple=true</c> up to a tag it settled alone. Calls come from the listen
/// stage one at a time, never concurrently with another call to the session.
/// </summary>
internal interface IDeliveryHandle
{
    /// <summary>
    /// Puts the delivery back on its queue to be tried again after <paramref name="delay"/> (zero: at once), with its
    /// metadata, its delivery count so far and <paramref name="reason"/> as its last failure. Returns once the broker
    /// holds the retry (for RabbitMQ: the copy in the retry queue is confirmed and the original acked).
    /// </summary>
    Task RejectAsync(TimeSpan delay, string reason, CancellationToken cancellationToken);

    /// <summary>Moves the delivery to the dead-letter queue with <paramref name="reason"/>; it is never silently discarded.</summary>
    Task DropAsync(string reason, CancellationToken cancellationToken);
}
