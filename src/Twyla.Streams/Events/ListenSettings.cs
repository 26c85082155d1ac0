using Twyla.Streams.Transport;

namespace Twyla.Streams.Events;

/// <summary>
/// How a listener consumes: prefetch (the most unsettled events it holds), the queue type its group gets,
/// how long a drain waits for in-flight events, and how long a rejected event waits before it is tried again.
/// Immutable: start from <see cref="Default"/> (or <see cref="Create()"/>, <see cref="Create(int)"/>).
/// </summary>
public sealed class ListenSettings
{
    private static readonly TimeSpan DefaultAckFlushDelay = TimeSpan.FromMilliseconds(5);

    private ListenSettings(int prefetch, QueueType queueType, TimeSpan drainTimeout, TimeSpan ackFlushDelay, RetrySchedule retry)
    {
        Prefetch = prefetch;
        QueueType = queueType;
        DrainTimeout = drainTimeout;
        AckFlushDelay = ackFlushDelay;
        Retry = retry;
    }

    /// <summary>Prefetch 100, classic queue, 30 s drain timeout, retries after 1 s, 5 s, then 30 s.</summary>
    public static ListenSettings Default { get; } =
        new(100, QueueType.Classic, TimeSpan.FromSeconds(30), DefaultAckFlushDelay, RetrySchedule.Default);

    /// <summary>The <see cref="Default"/> settings, to change with the <c>With*</c> methods.</summary>
    /// <returns>The settings.</returns>
    public static ListenSettings Create() => Default;

    /// <summary>The <see cref="Default"/> settings with another prefetch.</summary>
    /// <param name="prefetch">1 to 65,535.</param>
    /// <returns>The settings.</returns>
    public static ListenSettings Create(int prefetch) => Default.WithPrefetch(prefetch);

    /// <summary>
    /// How long a rejected event waits before it is delivered again: the first delay after its first delivery, the
    /// second after its second, and the last one after every later delivery. Empty: tried again at once.
    /// Default 1 s, 5 s, 30 s. On RabbitMQ each distinct delay is a queue <c>{queue}.retry-{delay}</c> whose messages
    /// expire back into the group's queue (no plugin needed).
    /// </summary>
    public IReadOnlyList<TimeSpan> RetryDelays => Retry.Delays;

    /// <summary>The retry delays as the listen stage and the transports use them.</summary>
    internal RetrySchedule Retry { get; }

    /// <summary>The most events delivered to this listener and not yet settled (AMQP <c>basic.qos</c>).</summary>
    public int Prefetch { get; }

    /// <summary>The type of the group's queue when it is declared.</summary>
    public QueueType QueueType { get; }

    /// <summary>
    /// How long a drain (or a cancelled stream) waits for in-flight events to be settled before it closes (30 s).
    /// Hosted listeners default to 20 s: they drain inside the Generic Host's shutdown, whose default timeout is 30 s,
    /// and the host must still close the bus after the drain.
    /// </summary>
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

    /// <summary>A copy with other retry delays (see <see cref="RetryDelays"/>).</summary>
    /// <param name="delays">Up to 10 delays, each 0 to 24 hours in whole milliseconds; none: retry at once.</param>
    /// <returns>The new settings.</returns>
    public ListenSettings WithRetryDelays(IEnumerable<TimeSpan> delays) => Copy(retry: RetrySchedule.Create(delays, nameof(delays)));

    /// <summary>A copy whose acks wait up to <paramref name="delay"/> for their batch (tests).</summary>
    internal ListenSettings WithAckFlushDelay(TimeSpan delay) => Copy(ackFlushDelay: delay);

    private ListenSettings Copy(
        int? prefetch = null, QueueType? queueType = null, TimeSpan? drainTimeout = null, TimeSpan? ackFlushDelay = null, RetrySchedule? retry = null) =>
        new(prefetch ?? Prefetch, queueType ?? QueueType, drainTimeout ?? DrainTimeout, ackFlushDelay ?? AckFlushDelay, retry ?? Retry);
}
