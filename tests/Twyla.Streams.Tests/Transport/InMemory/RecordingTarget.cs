using System.Collections.Concurrent;
using System.Threading.Channels;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Tests.Transport.InMemory;

/// <summary>A delivery target for transport tests: queues what it gets and checks the tag order of its session.</summary>
internal sealed class RecordingTarget : IDeliveryTarget
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    private readonly Channel<TransportDelivery> _deliveries = Channel.CreateUnbounded<TransportDelivery>();
    private readonly ConcurrentQueue<string> _orderViolations = new();
    private readonly TaskCompletionSource<Exception> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Action<TransportDelivery>? _onDelivery;
    private ulong _lastTag;
    private int _count;

    public RecordingTarget(Action<TransportDelivery>? onDelivery = null)
    {
        _onDelivery = onDelivery;
    }

    /// <summary>How many deliveries arrived so far.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Tags that did not follow the previous one by exactly 1 (empty when deliveries came 1, 2, 3, ...).</summary>
    public IReadOnlyCollection<string> OrderViolations => _orderViolations;

    public Task<Exception> Failed => _failed.Task;

    public void OnDelivery(TransportDelivery delivery)
    {
        var last = Interlocked.Exchange(ref _lastTag, delivery.Tag);
        if (delivery.Tag != last + 1)
        {
            _orderViolations.Enqueue($"tag {delivery.Tag} after {last}");
        }

        Interlocked.Increment(ref _count);
        _onDelivery?.Invoke(delivery);
        _deliveries.Writer.TryWrite(delivery);
    }

    public void OnConsumerFailed(Exception cause) => _failed.TrySetResult(cause);

    public async Task<TransportDelivery> NextAsync() =>
        await _deliveries.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

    public async Task<IReadOnlyList<TransportDelivery>> NextAsync(int count)
    {
        var result = new List<TransportDelivery>(count);
        for (var i = 0; i < count; i++)
        {
            result.Add(await NextAsync());
        }

        return result;
    }
}
