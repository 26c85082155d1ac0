namespace Twyla.Streams.Transport;

/// <summary>The kind of queue a listener group gets.</summary>
public enum QueueType
{
    /// <summary>A classic durable queue (the default).</summary>
    Classic = 0,

    /// <summary>A replicated quorum queue, for clusters.</summary>
    Quorum = 1,
}
