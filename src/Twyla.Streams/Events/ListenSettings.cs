using Twyla.Streams.Transport;

namespace Twyla.Streams.Events;

/// <summary>
/// How a listener consumes: prefetch (the most unsettled events it holds), the queue type its group gets,
/// and how long a drain waits for in-flight events. Immutable: start from <see cref="Default"/>.
/// </summary>
public sealed class ListenSettings
{
    private static readonly TimeSpan DefaultAckFlushDelay = TimeSpan.FromMilliseconds(5);

    private ListenSettings(int prefetch, QueueType queueType, TimeSpan drainTimeout, TimeSpan ackFlushDelay)
    {
        Prefetch = prefetch;
        QueueType = queueType;
        DrainTimeout = drainTimeout;
        AckFlushDelay = ackFlushDelay;
    }

    /// <summary>Prefetch 100, classic queue, 30 s drain timeout.</summary>
    public static ListenSettings Default { get; } = new(100, QueueType.Classic, TimeSpan.FromSeconds(30), DefaultAckFlushDelay);

    /// <summary>The most events delivered to this listener and not yet settled (AMQP <c>basic.qos</c>).</summary>
    public int Prefetch { get; }

    /// <summary>The type of the group's queue when it is declared.</summary>
    public QueueType QueueType { get; }

    /// <summary>How long a drain (or a cancelled stream) waits for in-flight events to be settled before it closes.</summary>
    public TimeSpan DrainTimeout { get; }

    /// <summary>Acks are sent in batches of up to this many (with <c>multiple=true</c> up to the contiguous settled watermark).</summary>
    internal int AckBatchSize => Math.Max(1, Prefetch / 4);

    /// <summary>The longest a recorded ack waits for its batch to fill before it is sent (5 ms).</summary>
    internal TimeSpan AckFlushDelay { get; }

    /// <summary>A copy with another prefetch.</summary>
    /// <param name="prefetch">1 to 65,535.</param>
    /// <returns>The new settings.</returns>
    public ListenSettings WithPrefetch(int prefetch)
    {
        if (prefetch is < 1 or > 65535)
        {
            throw new ArgumentOutOfRangeException(nameof(prefetch), prefetch, "Prefetch must be between 1 and 65,535 events.");
        }

        return Copy(prefetch: prefetch);
    }

    /// <summary>A copy that declares the group's queue with <paramref name="queueType"/>.</summary>
    /// <param name="queueType">Classic or quorum.</param>
    /// <returns>The new settings.</returns>
    public ListenSettings WithQueueType(QueueType queueType)
    {
        if (!Enum.IsDefined(queueType))
        {
            throw new ArgumentOutOfRangeException(nameof(queueType), queueType, "The queue type must be Classic or Quorum.");
        }

        return Copy(queueType: queueType);
    }

    /// <summary>A copy with another drain timeout.</summary>
    /// <param name="drainTimeout">Zero or more.</param>
    /// <returns>The new settings.</returns>
    public ListenSettings WithDrainTimeout(TimeSpan drainTimeout)
    {
        if (drainTimeout < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(drainTimeout), drainTimeout, "The drain timeout must not be negative.");
        }

        return Copy(drainTimeout: drainTimeout);
    }

    /// <summary>A copy whose acks wait up to <paramref name="delay"/> for their batch (tests).</summary>
    internal ListenSettings WithAckFlushDelay(TimeSpan delay) => Copy(ackFlushDelay: delay);

    private ListenSettings Copy(
        int? prefetch = null, QueueType? queueType = null, TimeSpan? drainTimeout = null, TimeSpan? ackFlushDelay = null) =>
        new(prefetch ?? Prefetch, queueType ?? QueueType, drainTimeout ?? DrainTimeout, ackFlushDelay ?? AckFlushDelay);
}
