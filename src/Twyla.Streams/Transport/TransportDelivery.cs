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
/// <param name="TransportState">Whatever the transport needs later to reject or drop this message (e.g. a body copy and headers).</param>
internal sealed record TransportDelivery(
    ulong Tag,
    EventEnvelope? Envelope,
    string? DecodeError,
    bool Redelivered,
    int DeliveryCount,
    string RoutingKey,
    string? LastFailure,
    object? TransportState);
