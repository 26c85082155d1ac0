namespace Twyla.Streams.Benchmarks;

/// <summary>
/// Publishing with a bounded window, as the emit stage bounds ours: at most <c>maxInFlight</c> publishes unconfirmed,
/// the next one started as soon as one was confirmed.
/// </summary>
internal static class PublishWindow
{
    /// <summary>
    /// Publishes one message per index with <paramref name="publish"/> (which completes when the broker confirmed it);
    /// completes when every publish completed. The first failure goes to <paramref name="fail"/> at once, stops the
    /// publishing and is thrown at the end.
    /// </summary>
    public static async Task RunAsync(IAsyncEnumerable<int> indexes, int maxInFlight, Func<int, Task> publish, Action<Exception> fail)
    {
        var window = new SemaphoreSlim(maxInFlight, maxInFlight);
        Exception? failure = null;

        async Task PublishOneAsync(int i)
        {
            try
            {
                await publish(i);
            }
            catch (Exception e)
            {
                failure ??= e;
                fail(e);
            }
            finally
            {
                window.Release();
            }
        }

        await Task.Yield();
        await foreach (var i in indexes)
        {
            if (failure is not null)
            {
                break;
            }

            await window.WaitAsync();
            _ = PublishOneAsync(i);
        }

        for (var i = 0; i < maxInFlight; i++)
        {
            await window.WaitAsync(); // every publish confirmed
        }

        if (failure is not null)
        {
            throw failure;
        }
    }
}
