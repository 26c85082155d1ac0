namespace Twyla.Streams;

/// <summary>
/// The one backoff rule of the library, for every wait before trying again: RPC retries
/// (<see cref="Rpc.RpcCallSettings.BackoffBase"/>, <see cref="Rpc.RpcCallSettings.BackoffMax"/>) and the restarts of
/// hosted listeners (<c>MinBackoff</c>, <c>MaxBackoff</c>). The delay starts at the minimum, doubles with every try in
/// a row, gets up to 20 % jitter on top (so callers that failed together do not all come back at once) and never
/// exceeds the maximum.
/// </summary>
public static class Backoff
{
    /// <summary>The delay before try number <paramref name="retry"/> + 1 after a failure, with random jitter.</summary>
    /// <param name="min">The first delay (positive).</param>
    /// <param name="max">The longest delay (at least <paramref name="min"/>).</param>
    /// <param name="retry">How many tries failed in a row before this one, less one: 0 for the first retry.</param>
    /// <returns>Between <paramref name="min"/> × 2^<paramref name="retry"/> and 20 % more, at most <paramref name="max"/>.</returns>
#pragma warning disable CA5394 // jitter, not security
    public static TimeSpan Delay(TimeSpan min, TimeSpan max, int retry) => Delay(min, max, retry, Random.Shared.NextDouble());
#pragma warning restore CA5394

    /// <summary>The delay before try number <paramref name="retry"/> + 1 after a failure, with the jitter given.</summary>
    /// <param name="min">The first delay (positive).</param>
    /// <param name="max">The longest delay (at least <paramref name="min"/>).</param>
    /// <param name="retry">How many tries failed in a row before this one, less one: 0 for the first retry.</param>
    /// <param name="jitter">From 0 (none) to 1 (20 % more).</param>
    /// <returns><paramref name="min"/> × 2^<paramref name="retry"/> × (1 + 0.2 × <paramref name="jitter"/>), at most <paramref name="max"/>.</returns>
    public static TimeSpan Delay(TimeSpan min, TimeSpan max, int retry, double jitter)
    {
        Validate(min, max, nameof(min), nameof(max));
        ArgumentOutOfRangeException.ThrowIfNegative(retry);
        if (double.IsNaN(jitter) || jitter is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(jitter), jitter, "The jitter must be between 0 and 1.");
        }

        var exponential = min.TotalMilliseconds * Math.Pow(2, Math.Min(retry, 30));
        return TimeSpan.FromMilliseconds(Math.Min(max.TotalMilliseconds, exponential * (1 + (jitter * 0.2))));
    }

    /// <summary>
    /// Checks the range of a backoff, as every setting that takes one does: a minimum (the first delay) more than zero and
    /// at most the maximum.
    /// </summary>
    /// <param name="min">The first delay.</param>
    /// <param name="max">The longest delay.</param>
    /// <param name="minName">What the caller calls the minimum (a parameter or setting name), for the message.</param>
    /// <param name="maxName">What the caller calls the maximum, for the message.</param>
    /// <exception cref="ArgumentOutOfRangeException">The minimum is not more than zero or exceeds the maximum; the message names both.</exception>
    public static void Validate(TimeSpan min, TimeSpan max, string minName, string maxName)
    {
        if (min <= TimeSpan.Zero || max < min)
        {
            throw new ArgumentOutOfRangeException(
                minName, min, $"A backoff must be more than zero with {minName} ({min}) <= {maxName} ({max}).");
        }
    }
}
