using System.Threading.Channels;
using Twyla.Streams.Transport;

namespace Twyla.Streams.IntegrationTests.Infrastructure;

/// <summary>An <see cref="IDeliveryTarget"/> that tests await on.</summary>
internal sealed class DeliveryProbe : IDeliveryTarget
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(15);

    private readonly Channel<TransportDelivery> _deliveries = Channel.CreateUnbounded<TransportDelivery>();
    private readonly TaskCompletionSource<Exception> _failed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private ulong _lastTag;

    public Task<Exception> Failed => _failed.Task;

    /// <summary>Whether deliveries ever arrived out of tag order.</summary>
    public bool OutOfOrder { get; private set; }

    public void OnDelivery(TransportDelivery delivery)
    {
        if (delivery.Tag <= _lastTag)
        {
            OutOfOrder = true;
        }

        _lastTag = delivery.Tag;
        _deliveries.Writer.TryWrite(delivery);
    }

    public void OnConsumerFailed(Exception cause) => _failed.TrySetResult(cause);

    public async Task<TransportDelivery> NextAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? DefaultTimeout);
        try
        {
            return await _deliveries.Reader.ReadAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"No delivery within {(timeout ?? DefaultTimeout).TotalSeconds} s.");
        }
    }

    public async Task<List<TransportDelivery>> TakeAsync(int count, TimeSpan? timeout = null)
    {
        var list = new List<TransportDelivery>(count);
        for (var i = 0; i < count; i++)
        {
            list.Add(await NextAsync(timeout));
        }

        return list;
    }

    /// <summary>Nothing more arrives within <paramref name="window"/> (for bounds such as prefetch, where absence is the behaviour).</summary>
    public async Task ExpectNoDeliveryAsync(TimeSpan window)
    {
        using var cts = new CancellationTokenSource(window);
        try
        {
            var d = await _deliveries.Reader.ReadAsync(cts.Token);
            throw new Xunit.Sdk.XunitException($"Unexpected delivery {d.Tag} ({d.Envelope?.Metadata.Name}).");
        }
        catch (OperationCanceledException)
        {
        }
    }

    public int Pending => _deliveries.Reader.Count;
}
