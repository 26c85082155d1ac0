namespace Twyla.Streams.Transport;

/// <summary>
/// Whether a transport can reach its broker now and, when it cannot, why (for health checks: never credentials).
/// </summary>
/// <param name="IsHealthy">Whether the broker answers.</param>
/// <param name="Reason">Why the broker cannot be used, e.g. <c>the broker refused the credentials (ACCESS_REFUSED …)</c>; <c>null</c> when healthy.</param>
internal sealed record TransportHealth(bool IsHealthy, string? Reason)
{
    /// <summary>Whether the broker answers but part of the transport cannot work now (see <see cref="Reason"/>).</summary>
    public bool IsDegraded => IsHealthy && Reason is not null;

    /// <summary>The broker answers.</summary>
    public static readonly TransportHealth Healthy = new(true, null);

    /// <summary>The broker answers, but <paramref name="reason"/> (e.g. it blocks publishers during an alarm).</summary>
    public static TransportHealth Degraded(string reason) => new(true, reason);

    /// <summary>The broker cannot be used, because of <paramref name="reason"/>.</summary>
    public static TransportHealth Unhealthy(string reason) => new(false, reason);
}
