namespace Twyla.Streams.Events;

/// <summary>What ack on completion did with one event.</summary>
/// <param name="Metadata">The event's metadata.</param>
/// <param name="Settlement">Acked (the handler completed), rejected (it failed and will be tried again) or dropped (dead-lettered).</param>
/// <param name="Reason">Why it was rejected or dropped (the handler's exception), empty when acked.</param>
/// <param name="DeliveryCount">Which delivery of the event this was (1 the first time).</param>
public sealed record HandledEvent(EventMetadata Metadata, SettleKind Settlement, string Reason, int DeliveryCount);
