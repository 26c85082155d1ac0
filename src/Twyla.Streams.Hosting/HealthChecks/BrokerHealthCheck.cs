using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace Twyla.Streams.Hosting.HealthChecks;

/// <summary>Healthy while the event bus can reach its broker.</summary>
internal sealed class BrokerHealthCheck(EventBus bus) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["transport"] = bus.TransportDescription };
        return await bus.Transport.IsHealthyAsync(cancellationToken).ConfigureAwait(false)
            ? HealthCheckResult.Healthy($"Connected to {bus.TransportDescription}.", data)
            : new HealthCheckResult(context.Registration.FailureStatus, $"Cannot reach the broker {bus.TransportDescription}.", data: data);
    }
}
