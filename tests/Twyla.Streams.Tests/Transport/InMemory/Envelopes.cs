using System.Text;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Tests.Transport.InMemory;

/// <summary>Envelopes for transport tests.</summary>
internal static class Envelopes
{
    public static EventEnvelope Create(string name, string json = """{"n":1}""")
    {
        var id = Guid.CreateVersion7().ToString();
        var metadata = new EventMetadata(id, name, id, string.Empty, DateTimeOffset.UtcNow, "tests", 1);
        return new EventEnvelope(metadata, Encoding.UTF8.GetBytes(json), TraceParent: null, TraceState: null);
    }
}
