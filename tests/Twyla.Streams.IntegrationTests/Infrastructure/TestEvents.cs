using System.Text;
using Twyla.Streams.Events;
using Twyla.Streams.Testing;
using Twyla.Streams.Transport;

namespace Twyla.Streams.IntegrationTests.Infrastructure;

internal static class TestEvents
{
    /// <summary>A listener topology with a group of the test's own.</summary>
    public static ListenerTopology Topology(string pattern, QueueType type = QueueType.Classic, string? group = null) =>
        ListenerTopology.Create(pattern, group ?? "t-" + Guid.NewGuid().ToString("N")[..10], type);

    public static EventEnvelope Envelope(string name, string json, string? causedBy = null)
    {
        var id = Guid.CreateVersion7().ToString();
        var metadata = new EventMetadata(
            id,
            name,
            causedBy is null ? id : "corr-" + causedBy,
            causedBy ?? string.Empty,
            DateTimeOffset.UtcNow,
            "integration-tests",
            1);
        return new EventEnvelope(metadata, Encoding.UTF8.GetBytes(json), null, null);
    }

    public static string Text(this TransportDelivery d) => Encoding.UTF8.GetString(d.Envelope!.Data.Span);

    /// <summary>A listener group of the test's own.</summary>
    public static string Group() => "g-" + Guid.NewGuid().ToString("N")[..10];

    /// <summary>Polls <paramref name="read"/> until <paramref name="done"/> (for broker-side state there is no completion to await); 20 s at most by default.</summary>
    public static Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? timeout = null) =>
        Poll.Eventually(read, done, timeout ?? TimeSpan.FromSeconds(20));
}
