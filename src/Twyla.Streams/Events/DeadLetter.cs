using System.Text;

namespace Twyla.Streams.Events;

/// <summary>A message that a listener dead-lettered, as it sits in <c>{queue}.dead-letter</c>.</summary>
/// <param name="EventId">
/// The event's id: from its metadata, or, when the message could not be decoded, from its <c>cloudEvents_id</c> header
/// or <c>message_id</c> property; <c>null</c> when it has none (replay it with a filter then).
/// </param>
/// <param name="Reason">Why it was dropped (the handler's exception message, the validation error, or the reason given to <c>DropAsync</c>).</param>
/// <param name="Metadata">The event's metadata when it could be decoded; otherwise <c>null</c>.</param>
/// <param name="Body">The message body as text (UTF-8), possibly cut to the first 64 KiB.</param>
/// <param name="RoutingKey">The routing key the message was published with.</param>
/// <param name="DeliveryCount">How many times it was delivered before it was dead-lettered (0 when not known, e.g. dead-lettered by the broker).</param>
/// <param name="DeadLetteredAt">When it was dead-lettered, when known.</param>
/// <param name="ReplayCount">How many times it was replayed from the dead-letter queue before (and came back).</param>
public sealed record DeadLetter(
    string? EventId,
    string Reason, EventMetadata? Metadata, string Body, string RoutingKey, int DeliveryCount, DateTimeOffset? DeadLetteredAt, int ReplayCount)
{
    private const int MaxBodyBytes = 64 * 1024;

    /// <summary>A message body as <see cref="Body"/> holds it: UTF-8 text of at most the first 64 KiB.</summary>
    internal static string BodyText(ReadOnlySpan<byte> body) =>
        Encoding.UTF8.GetString(body.Length > MaxBodyBytes ? body[..MaxBodyBytes] : body);
}
