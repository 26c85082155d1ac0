using Microsoft.Extensions.Diagnostics.HealthChecks;
using Twyla.Streams.Hosting.Listeners;

namespace Twyla.Streams.Hosting.HealthChecks;

/// <summary>
/// The state of every hosted listener: healthy when all run, degraded while one starts or restarts after a failure,
/// unhealthy once one stopped (the host is stopping). The data has one entry per listener, <c>{pattern}/{group}</c>.
/// </summary>
internal sealed class ListenersHealthCheck(TwylaListeners listeners) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var all = listeners.Listeners;
        var data = new Dictionary<string, object>();
        foreach (var listener in all)
        {
            data[listener.Name] = Describe(listener);
        }

        var notRunning = all.Where(l => l.State != ListenerState.Running).ToList();
        if (notRunning.Count == 0)
        {
            var text = all.Count == 0 ? "No Twyla listeners registered." : $"{all.Count} Twyla listener(s) running.";
            return Task.FromResult(HealthCheckResult.Healthy(text, data));
        }

        var description = string.Join("; ", notRunning.Select(l => $"{l.Name} {Describe(l)}"));
        var status = notRunning.Any(l => l.State is ListenerState.Draining or ListenerState.Stopped)
            ? context.Registration.FailureStatus
            : HealthStatus.Degraded;
        return Task.FromResult(new HealthCheckResult(status, description, data: data));
    }

    private static string Describe(HostedListener listener)
    {
        var state = listener.State.ToString().ToLowerInvariant();
        return listener.Restarts == 0
            ? state
            : $"{state} (restarts: {listener.Restarts}, last failure: {listener.LastFailure?.Message})";
    }
}
