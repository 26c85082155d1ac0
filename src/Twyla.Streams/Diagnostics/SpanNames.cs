using System.Collections.Concurrent;

namespace Twyla.Streams.Diagnostics;

/// <summary>
/// The span names of an event name (<c>{name} publish</c>, <c>{name} process</c>), built once per name rather than
/// per span. Event names are few; past <see cref="Bound"/> of them, names are built per span and not kept.
/// </summary>
internal static class SpanNames
{
    /// <summary>How many event names are kept at most.</summary>
    public const int Bound = 1024;

    private static readonly ConcurrentDictionary<string, (string Publish, string Process)> Cache = new(StringComparer.Ordinal);
    private static int _kept;

    /// <summary>The name of the producer span of an emit of <paramref name="eventName"/>.</summary>
    public static string Publish(string eventName) => Of(eventName).Publish;

    /// <summary>The name of the consumer span of a handler of <paramref name="eventName"/>.</summary>
    public static string Process(string eventName) => Of(eventName).Process;

    private static (string Publish, string Process) Of(string eventName)
    {
        if (Cache.TryGetValue(eventName, out var names))
        {
            return names;
        }

        names = (eventName + " publish", eventName + " process");
        if (Volatile.Read(ref _kept) < Bound && Cache.TryAdd(eventName, names))
        {
            Interlocked.Increment(ref _kept);
        }

        return names;
    }
}
