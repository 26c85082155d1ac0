using System.Collections;
using System.Globalization;
using Twyla.Streams.Events;

namespace Twyla.Streams.Diagnostics;

/// <summary>
/// The log scope around a handler: every line the handler logs (through a logger of the bus's logger factory, as the
/// host's loggers are) carries <c>EventId</c>, <c>EventName</c>, <c>CorrelationId</c> and <c>DeliveryCount</c>.
/// </summary>
internal sealed class EventLogScope(EventMetadata metadata, int deliveryCount) : IReadOnlyList<KeyValuePair<string, object?>>
{
    public int Count => 4;

    public KeyValuePair<string, object?> this[int index] => index switch
    {
        0 => new("EventId", metadata.Id),
        1 => new("EventName", metadata.Name),
        2 => new("CorrelationId", metadata.CorrelationId),
        3 => new("DeliveryCount", deliveryCount),
        _ => throw new ArgumentOutOfRangeException(nameof(index)),
    };

    public IEnumerator<KeyValuePair<string, object?>> GetEnumerator()
    {
        for (var i = 0; i < Count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture, $"Event {metadata.Id} ({metadata.Name}), correlation {metadata.CorrelationId}, delivery {deliveryCount}");
}
