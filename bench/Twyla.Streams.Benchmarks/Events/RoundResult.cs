namespace Twyla.Streams.Benchmarks.Events;

/// <summary>One measured round: events, first emit to last ack, and messages the broker still held afterwards (must be 0).</summary>
internal sealed record RoundResult(int Count, TimeSpan Elapsed, uint LeftInQueue)
{
    public double PerSecond => Count / Elapsed.TotalSeconds;

    /// <summary>How long a round may take before it counts as hung: generous, at least a minute.</summary>
    public static TimeSpan Timeout(int count) => TimeSpan.FromSeconds(Math.Max(60, count / 500.0));
}
