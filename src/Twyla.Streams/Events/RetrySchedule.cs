using System.Globalization;

namespace Twyla.Streams.Events;

/// <summary>
/// The one owner of the retry rule: how long a rejected event waits before its next delivery, and the name each
/// delay goes by on the broker (<c>retry-1s</c>, <c>retry-500ms</c>, <c>retry-2m</c>). Immutable.
/// </summary>
internal sealed class RetrySchedule
{
    /// <summary>The most delays a schedule holds (each distinct one is a queue on RabbitMQ).</summary>
    public const int MaxDelays = 10;

    /// <summary>The longest delay (a day).</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromDays(1);

    private RetrySchedule(TimeSpan[] delays)
    {
        Delays = delays;
        DistinctDelays = [.. delays.Where(d => d > TimeSpan.Zero).Distinct().Order()];
    }

    /// <summary>1 s, 5 s, 30 s.</summary>
    public static RetrySchedule Default { get; } = new([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(30)]);

    /// <summary>Retry at once (no delay).</summary>
    public static RetrySchedule Immediate { get; } = new([]);

    /// <summary>The delays in order: after the first delivery, the second, …; the last one repeats.</summary>
    public IReadOnlyList<TimeSpan> Delays { get; }

    /// <summary>The distinct delays above zero, shortest first: one retry queue each.</summary>
    public IReadOnlyList<TimeSpan> DistinctDelays { get; }

    /// <summary>Validates and makes a schedule.</summary>
    /// <exception cref="ArgumentException">Too many delays, or one is negative, longer than a day or not whole milliseconds.</exception>
    public static RetrySchedule Create(IEnumerable<TimeSpan> delays, string paramName)
    {
        ArgumentNullException.ThrowIfNull(delays, paramName);
        var list = delays.ToArray();
        if (list.Length > MaxDelays)
        {
            throw new ArgumentException($"At most {MaxDelays} retry delays can be given (got {list.Length}); the last one repeats.", paramName);
        }

        foreach (var d in list)
        {
            if (d < TimeSpan.Zero || d > MaxDelay || d.Ticks % TimeSpan.TicksPerMillisecond != 0)
            {
                throw new ArgumentException(
                    $"The retry delay {d} is not valid: each delay is 0 to 24 hours, in whole milliseconds.", paramName);
            }
        }

        return list.Length == 0 ? Immediate : new RetrySchedule(list);
    }

    /// <summary>How long an event that failed on delivery <paramref name="deliveryCount"/> (1 the first time) waits.</summary>
    public TimeSpan DelayAfter(int deliveryCount) =>
        Delays.Count == 0 ? TimeSpan.Zero : Delays[Math.Clamp(deliveryCount - 1, 0, Delays.Count - 1)];

    /// <summary>The broker name of a delay: <c>retry-</c> and the delay in its largest whole unit (h, m, s or ms).</summary>
    public static string Name(TimeSpan delay)
    {
        var ms = (long)delay.TotalMilliseconds;
        var (value, unit) = ms % 3_600_000 == 0 ? (ms / 3_600_000, "h")
            : ms % 60_000 == 0 ? (ms / 60_000, "m")
            : ms % 1000 == 0 ? (ms / 1000, "s")
            : (ms, "ms");
        return "retry-" + value.ToString(CultureInfo.InvariantCulture) + unit;
    }
}
