namespace Twyla.Streams.Transport;

/// <summary>The kind of queue a listener group gets.</summary>
public enum QueueType
{
    /// <summary>A classic durable queue (the default).</summary>
    Classic = 0,

    /// <summary>A replicated quorum queue, for clusters.</summary>
    Quorum = 1,
}

/// <summary>How a <see cref="QueueType"/> is spelled on the broker.</summary>
internal static class QueueTypeNames
{
    /// <summary>The <c>x-queue-type</c> value: <c>classic</c> or <c>quorum</c>.</summary>
    public static string XQueueType(this QueueType type) => type == QueueType.Quorum ? "quorum" : "classic";
}
