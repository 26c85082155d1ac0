using Twyla.Streams.Transport;

namespace Twyla.Streams.Hosting;

/// <summary>
/// Settings of one hosted listener. Every property is optional: <c>null</c> takes the value of
/// <see cref="TwylaOptions"/> (configuration section <c>Twyla</c>), and then the library's default.
/// </summary>
public sealed class TwylaListenerOptions
{
    /// <summary>How many events the handler works on at once, 1 to 10,000 (default 1).</summary>
    public int? Parallelism { get; set; }

    /// <summary>The most events delivered to the listener and not yet settled, 1 to 65,535 (default 100).</summary>
    public int? Prefetch { get; set; }

    /// <summary>Deliveries of an event to a failing handler before it is dead-lettered, 1 to 1,000 (default 5).</summary>
    public int? MaxDeliveries { get; set; }

    /// <summary>How long a failed event waits before its next delivery, per delivery; the last repeats (default 1 s, 5 s, 30 s).</summary>
#pragma warning disable CA1819 // set in code like the other options
    public TimeSpan[]? RetryDelays { get; set; }
#pragma warning restore CA1819

    /// <summary>The type of the group's queue (default classic).</summary>
    public QueueType? QueueType { get; set; }

    /// <summary>How long the listener waits at shutdown for in-flight events to finish and be acked (default 20 s).</summary>
    public TimeSpan? DrainTimeout { get; set; }

    /// <summary>The first delay before the listener restarts after a failure (default 1 s); doubles with every failure in a row.</summary>
    public TimeSpan? MinBackoff { get; set; }

    /// <summary>The longest delay between restarts (default 30 s).</summary>
    public TimeSpan? MaxBackoff { get; set; }
}
