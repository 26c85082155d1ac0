namespace Twyla.Streams.Testing;

/// <summary>
/// Polls for a state there is no completion to await (broker-side counts, metrics, logs), never sleeping and then
/// looking (tests/README.md). Linked into the test projects that need it.
/// </summary>
internal static class Poll
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(50);

    /// <summary>Reads until <paramref name="done"/> holds for what was read, and returns that; fails after <paramref name="timeout"/> with the last value.</summary>
    public static async Task<T> Eventually<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var value = await read();
            if (done(value))
            {
                return value;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"Condition not met within {timeout.TotalSeconds} s; last value: {value}");
            }

            await Task.Delay(Interval);
        }
    }

    /// <summary>Returns once <paramref name="condition"/> holds; fails after <paramref name="timeout"/>.</summary>
    public static Task Until(Func<bool> condition, TimeSpan timeout) =>
        Eventually(() => Task.FromResult(condition()), holds => holds, timeout);
}
