using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;

namespace Twyla.Streams.Hosting.HealthChecks;

/// <summary>
/// Healthy while the event bus can reach its broker; when it cannot, the description says why (refused credentials,
/// unknown virtual host, TLS rejected, host unreachable). The in-memory transport is degraded outside the Development
/// environment: its events live in one process only.
/// </summary>
internal sealed class BrokerHealthCheck(EventBus bus, IHostEnvironment? environment = null) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var data = new Dictionary<string, object> { ["transport"] = bus.TransportDescription };
        var health = await bus.CheckHealthAsync(cancellationToken).ConfigureAwait(false);
        if (!health.IsHealthy)
        {
            return new HealthCheckResult(
                context.Registration.FailureStatus, $"The broker {bus.TransportDescription} cannot be used: {health.Reason}.", data: data);
        }

        if (health.IsDegraded)
        {
            return HealthCheckResult.Degraded($"The broker {bus.TransportDescription} answers, but {health.Reason}.", data: data);
        }

        if (bus.IsInMemory && environment?.IsDevelopment() != true)
        {
            return HealthCheckResult.Degraded(
                $"Events run on the in-memory transport in the {environment?.EnvironmentName ?? "(unknown)"} environment: they live in this " +
                "process only and are lost when it stops. Configure a broker with Twyla:Amqp:Uri (Twyla__Amqp__Uri).",
                data: data);
        }

        return HealthCheckResult.Healthy($"Connected to {bus.TransportDescription}.", data);
    }
}
