using Twyla.Streams.Events;

namespace Twyla.Streams.Hosting.Listeners;

/// <summary>A listener's effective settings: its own options, else the service's, else the defaults.</summary>
internal sealed record ListenerSettings(
    ListenSettings Listen, AckOnCompletionSettings Ack, TimeSpan MinBackoff, TimeSpan MaxBackoff)
{
    /// <summary>
    /// 20 s, where a bare <see cref="ListenSettings"/> drains for 30 s: a hosted listener drains inside the Generic
    /// Host's shutdown, whose default timeout is 30 s, and the host must still close the bus after the drain.
    /// </summary>
    public static readonly TimeSpan DefaultDrainTimeout = TimeSpan.FromSeconds(20);
    public static readonly TimeSpan DefaultMinBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan DefaultMaxBackoff = TimeSpan.FromSeconds(30);

    public TimeSpan DrainTimeout => Listen.DrainTimeout;

    public static ListenerSettings Resolve(TwylaListenerOptions own, TwylaOptions service)
    {
        var listen = ListenSettings.Default
            .WithPrefetch(own.Prefetch ?? service.Prefetch ?? ListenSettings.Default.Prefetch)
            .WithQueueType(own.QueueType ?? service.QueueType ?? ListenSettings.Default.QueueType)
            .WithDrainTimeout(own.DrainTimeout ?? service.DrainTimeout ?? DefaultDrainTimeout)
            .WithRetryDelays(own.RetryDelays ?? service.RetryDelays ?? ListenSettings.Default.RetryDelays);
        var ack = AckOnCompletionSettings.Default
            .WithParallelism(own.Parallelism ?? service.Parallelism ?? AckOnCompletionSettings.Default.Parallelism)
            .WithMaxDeliveries(own.MaxDeliveries ?? service.MaxDeliveries ?? AckOnCompletionSettings.Default.MaxDeliveries);
        var min = own.MinBackoff ?? service.MinBackoff ?? DefaultMinBackoff;
        var max = own.MaxBackoff ?? service.MaxBackoff ?? DefaultMaxBackoff;
        CheckBackoff(min, max);
        return new ListenerSettings(listen, ack, min, max);
    }

    /// <summary>The rule of a listener's restart backoff (<see cref="Backoff.Validate"/>), named as its options are.</summary>
    public static void CheckBackoff(TimeSpan min, TimeSpan max) =>
        Backoff.Validate(min, max, nameof(TwylaListenerOptions.MinBackoff), nameof(TwylaListenerOptions.MaxBackoff));
}
