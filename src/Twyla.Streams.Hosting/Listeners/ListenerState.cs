namespace Twyla.Streams.Hosting.Listeners;

/// <summary>Where a hosted listener is in its life, as health checks report it.</summary>
internal enum ListenerState
{
    /// <summary>Registered; its consumer is not registered with the broker yet.</summary>
    Starting,

    /// <summary>Its consumer is registered with the broker: events reach it.</summary>
    Running,

    /// <summary>Its graph failed; it waits out its backoff and starts again, until its consumer is registered again.</summary>
    Restarting,

    /// <summary>The host is stopping: the listener hands out no further event and finishes its in-flight ones.</summary>
    Draining,

    /// <summary>Stopped for good.</summary>
    Stopped,
}
