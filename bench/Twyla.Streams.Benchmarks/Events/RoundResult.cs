namespace Twyla.Streams.Benchmarks.Events;

/// <summary>One measured round: events, first emit to last ack, and messages the broker still held afterwards (must be 0).</summary>
internal sealed record RoundResult(int Count, TimeSpan Elapsed, uint LeftInQueue)
{
    /// <summary>CPU time of this process during the round, when measured.</summary>
    public TimeSpan? ClientCpu { get; init; }

    /// <summary>CPU time of the broker during the round, when it could be read.</summary>
    public TimeSpan? BrokerCpu { get; init; }

    /// <summary>Thread-pool work items completed during the round, when measured.</summary>
    public long? ThreadPoolItems { get; init; }

    /// <summary>Contended <see cref="Monitor"/> acquisitions during the round, when measured.</summary>
    public long? LockContentions { get; init; }

    /// <summary>Bytes this process allocated during the round, when measured.</summary>
    public long? Allocated { get; init; }

    /// <summary>This result with the resources used since <paramref name="before"/>.</summary>
    public RoundResult WithUsageSince(ResourceUsage before)
    {
        var now = ResourceUsage.Now();
        return this with
        {
            ClientCpu = now.ClientCpu - before.ClientCpu,
            BrokerCpu = now.BrokerCpu - before.BrokerCpu,
            ThreadPoolItems = now.ThreadPoolItems - before.ThreadPoolItems,
            LockContentions = now.LockContentions - before.LockContentions,
            Allocated = now.Allocated - before.Allocated,
        };
    }

    public double PerSecond => Count / Elapsed.TotalSeconds;

    /// <summary>How long a round may take before it counts as hung: generous, at least a minute.</summary>
    public static TimeSpan Timeout(int count) => TimeSpan.FromSeconds(Math.Max(60, count / 500.0));
}
