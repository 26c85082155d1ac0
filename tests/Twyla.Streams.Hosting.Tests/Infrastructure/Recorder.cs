using System.Collections.Concurrent;

namespace Twyla.Streams.Hosting.Tests.Infrastructure;

/// <summary>Collects items from handlers (any thread) and lets a test await a count.</summary>
public sealed class Recorder<T>
{
    private readonly ConcurrentQueue<T> _items = new();
    private readonly List<(int Count, TaskCompletionSource Done)> _waiters = [];
    private readonly Lock _gate = new();

    public IReadOnlyList<T> Items => [.. _items];

    public int Count => _items.Count;

    public void Record(T item)
    {
        _items.Enqueue(item);
        lock (_gate)
        {
            foreach (var waiter in _waiters.Where(w => _items.Count >= w.Count))
            {
                waiter.Done.TrySetResult();
            }
        }
    }

    public Task WhenCountAsync(int count, TimeSpan? timeout = null)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            if (_items.Count >= count)
            {
                return Task.CompletedTask;
            }

            _waiters.Add((count, tcs));
        }

        return tcs.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(15));
    }
}
