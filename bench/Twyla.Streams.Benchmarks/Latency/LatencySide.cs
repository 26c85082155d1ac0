using System.Threading.Channels;

namespace Twyla.Streams.Benchmarks.Latency;

/// <summary>
/// One side of the latency benchmark: the same events (the same payload, persistent, confirmed by the broker, at most
/// as many unconfirmed as ours), consumed with the same prefetch and handler concurrency, each round in a queue of its own.
/// </summary>
internal abstract class LatencySide(string name)
{
    public string Name { get; } = name;

    /// <summary>The queue round <paramref name="round"/>'s events end in (empty after the round, then deleted).</summary>
    public abstract string QueueOf(string round);

    /// <summary>
    /// Declares the round's queue and starts consuming it, each handler calling <see cref="LatencyRecorder.Handled"/>
    /// first; returns once the broker reports the consumer, with the function that stops it (after its acks went out).
    /// </summary>
    public abstract Task<Func<Task>> StartConsumerAsync(string round, LatencyRecorder recorder);

    /// <summary>Publishes event <c>i</c> of the round for each index read, until the reader completes and every publish was confirmed.</summary>
    public abstract Task PublishAsync(string round, ChannelReader<int> indexes, Action<Exception> fail);

    /// <summary>Deletes what the round declared.</summary>
    public abstract Task DeleteAsync(string round);
}
