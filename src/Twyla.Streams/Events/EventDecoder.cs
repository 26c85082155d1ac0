using System.Text.Json;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Events;

/// <summary>
/// Turns a delivery into a payload of the contract <typeparamref name="T"/>, or into the reason it is dead-lettered:
/// the message could not be decoded, the payload does not parse into the contract (the bus's JSON options enforce
/// required members, nullability and strict numbers), or it is <c>null</c>.
/// </summary>
internal sealed class EventDecoder<T>(JsonSerializerOptions json)
{
    // The contract's name as its user writes it (an F# record in module Program is Program.BookingRequested).
    private static readonly string ContractName = TypeNames.Of(typeof(T));

    /// <summary>Decodes <paramref name="delivery"/>: true with its payload, or false with the dead-letter reason.</summary>
    public bool TryDecode(TransportDelivery delivery, out T payload, out string reason)
    {
        payload = default!;
        if (delivery.Envelope is not { } envelope)
        {
            reason = delivery.DecodeError ?? "the message could not be decoded";
            return false;
        }

        T? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<T>(envelope.Data.Span, json);
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
        {
            reason = $"the payload does not match the contract {ContractName}: {TypeNames.InMessage(ex.Message)}";
            return false;
        }

        if (parsed is null || parsed is JsonElement { ValueKind: JsonValueKind.Null })
        {
            reason = $"the payload is null; the contract {ContractName} requires a value";
            return false;
        }

        payload = parsed;
        reason = string.Empty;
        return true;
    }
}
