using System.Diagnostics;
using System.Globalization;

namespace Twyla.Streams.Benchmarks.Events;

/// <summary>
/// What a round costs besides time: CPU of this process and of the broker, thread-pool work items, contended locks,
/// bytes allocated by this process (every thread; unlike CPU time, the load of other processes does not change it).
/// </summary>
internal readonly record struct ResourceUsage(TimeSpan ClientCpu, TimeSpan? BrokerCpu, long ThreadPoolItems, long LockContentions, long Allocated)
{
    public static ResourceUsage Now()
    {
        using var process = Process.GetCurrentProcess();
        return new ResourceUsage(
            process.TotalProcessorTime, BrokerCpuTime(), ThreadPool.CompletedWorkItemCount, Monitor.LockContentionCount, GC.GetTotalAllocatedBytes(precise: true));
    }

    /// <summary>
    /// CPU time of the broker's VM when it runs on this machine and <c>TWYLA_RABBITMQ_DIR</c> names its folder
    /// (a node started with tests/rabbitmq-node.sh); otherwise null.
    /// </summary>
    private static TimeSpan? BrokerCpuTime()
    {
        try
        {
            if (Environment.GetEnvironmentVariable("TWYLA_RABBITMQ_DIR") is not { Length: > 0 } dir ||
                !File.Exists(Path.Combine(dir, "node.pid")))
            {
                return null;
            }

            var pid = File.ReadAllText(Path.Combine(dir, "node.pid")).Trim();
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / 100.0); // USER_HZ
        }
        catch (Exception e) when (e is IOException or FormatException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return null;
        }
    }
}
