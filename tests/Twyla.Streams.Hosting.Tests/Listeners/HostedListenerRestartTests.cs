using Akka.Hosting;
using Akka.Streams.Dsl;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting.Listeners;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.Listeners;

public sealed class HostedListenerRestartTests(ITestOutputHelper output) : TwylaHostingSpec(output)
{
    private readonly Recorder<int> _handled = new();
    private int _crashed;

    protected override void ConfigureListeners(AkkaConfigurationBuilder builder) =>
        builder.WithTwylaFlowListener<Booking>(
            Pattern,
            "billing",
            Flow.Create<Event<Booking>>().Select(e =>
            {
                if (e.Payload.N == 3 && Interlocked.Exchange(ref _crashed, 1) == 0)
                {
                    throw new InvalidOperationException("the flow crashed on booking 3");
                }

                _handled.Record(e.Payload.N);
                return e;
            }),
            new TwylaListenerOptions { MinBackoff = TimeSpan.FromSeconds(1.5), MaxBackoff = TimeSpan.FromSeconds(10) });

    [Fact]
    public async Task Hosted_listener_should_restart_with_backoff_when_its_flow_fails_and_lose_no_event()
    {
        await AwaitConditionAsync(() => Task.FromResult(Listener("billing").State == ListenerState.Running), TimeSpan.FromSeconds(5), cancellationToken: Ct);
        var healthy = await HealthAsync();
        Assert.Equal(HealthStatus.Healthy, healthy.Entries[TwylaServiceCollectionExtensions.ListenersHealthCheckName].Status);

        await EmitAsync(1, 5);

        // The graph fails on booking 3: the listener waits out its backoff, and health checks say so.
        HealthReportEntry restarting = default;
        await AwaitConditionAsync(
            async () => (restarting = (await HealthAsync()).Entries[TwylaServiceCollectionExtensions.ListenersHealthCheckName]).Status == HealthStatus.Degraded,
            TimeSpan.FromSeconds(10),
            cancellationToken: Ct);
        Assert.Contains("booking.created/billing restarting (restarts: 1, last failure: the flow crashed on booking 3)", restarting.Description);
        // The state changes just before the failure is logged: wait for the line rather than race it.
        await AwaitConditionAsync(
            () => Task.FromResult(Logs.Lines.Any(l => l.Level == LogLevel.Error &&
                l.Message.Contains("Twyla listener booking.created (group billing) failed: the flow crashed on booking 3; restart 1 in", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(5),
            cancellationToken: Ct);

        // It restarts and every event is handled: none was lost with the crashed graph.
        await AwaitConditionAsync(() => Task.FromResult(Enumerable.Range(1, 5).All(_handled.Items.Contains)), TimeSpan.FromSeconds(15), cancellationToken: Ct);
        await AwaitConditionAsync(() => Task.FromResult(Listener("billing").State == ListenerState.Running), TimeSpan.FromSeconds(5), cancellationToken: Ct);
        var running = (await HealthAsync()).Entries[TwylaServiceCollectionExtensions.ListenersHealthCheckName];
        Assert.Equal(HealthStatus.Healthy, running.Status);
        Assert.Equal(1, Listener("billing").Restarts);
    }
}
