namespace Twyla.Streams.Transport;

/// <summary>
/// Whether the event bus can use its broker now and, when it cannot (or only partly), why: for health checks, never
/// with credentials. See <see cref="EventBus.CheckHealthAsync(CancellationToken)"/>.
/// </summary>
/// <param name="IsHealthy">Whether the broker answers (also when degraded).</param>
/// <param name="Reason">Why the broker cannot be used, e.g. <c>the broker refused the credentials (ACCESS_REFUSED …)</c>; <c>null</c> when healthy.</param>
public sealed record BrokerHealth(bool IsHealthy, string? Reason)
{
    /// <summary>Whether the broker answers but part of the transport cannot work now (see <see cref="Reason"/>).</summary>
    public bool IsDegraded => IsHealthy && Reason is not null;

    /// <summary>The broker answers.</summary>
    internal static BrokerHealth Healthy { get; } = new(true, null);

    /// <summary>The broker answers, but <paramref name="reason"/> (e.g. it blocks publishers during an alarm).</summary>
    internal static BrokerHealth Degraded(string reason) => new(true, reason);

    /// <summary>The broker cannot be used, because of <paramref name="reason"/>.</summary>
    internal static BrokerHealth Unhealthy(string reason) => new(false, reason);
}
