using Akka.Hosting;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.RabbitMq;

public sealed class BrokerHealthCheckTests(ITestOutputHelper output, PrivateBroker broker)
    : RabbitMqHostingSpec(output), IClassFixture<PrivateBroker>
{
    private readonly string _group = Broker.UniqueGroup("billing");
    private readonly Recorder<int> _handled = new();

    protected override string BrokerUri => broker.Uri;

    protected override void ConfigureListeners(AkkaConfigurationBuilder builder) =>
        builder.WithTwylaListener<Booking>(
            Pattern,
            _group,
            e =>
            {
                _handled.Record(e.Payload.N);
                return Task.CompletedTask;
            },
            new TwylaListenerOptions { MinBackoff = TimeSpan.FromMilliseconds(500), MaxBackoff = TimeSpan.FromSeconds(2) });

    [Fact]
    public async Task Health_checks_should_go_unhealthy_when_the_broker_stops_and_healthy_again_when_it_is_back()
    {
        await AwaitConditionAsync(async () => (await HealthAsync()).Status == HealthStatus.Healthy, TimeSpan.FromSeconds(10), cancellationToken: Ct);

        await broker.KillAsync();
        try
        {
            // One report that shows both: the listener alternates between its backoff (Restarting) and short-lived
            // attempts to reconnect, so a second report taken later could catch it in an attempt.
            HealthReport? report = null;
            await AwaitConditionAsync(
                async () =>
                {
                    report = await HealthAsync();
                    return report.Entries[TwylaServiceCollectionExtensions.BrokerHealthCheckName].Status == HealthStatus.Unhealthy
                        && report.Entries[TwylaServiceCollectionExtensions.ListenersHealthCheckName].Status == HealthStatus.Degraded;
                },
                TimeSpan.FromSeconds(20),
                cancellationToken: Ct);
            Assert.Equal(HealthStatus.Unhealthy, report!.Status);
            Assert.Contains("cannot be used:", report.Entries[TwylaServiceCollectionExtensions.BrokerHealthCheckName].Description, StringComparison.Ordinal);
            Assert.Contains("restarting", report.Entries[TwylaServiceCollectionExtensions.ListenersHealthCheckName].Description, StringComparison.Ordinal);
        }
        finally
        {
            await broker.StartAsync();
        }

        await AwaitConditionAsync(async () => (await HealthAsync()).Status == HealthStatus.Healthy, TimeSpan.FromSeconds(30), cancellationToken: Ct);
        await Bus.EmitAsync(Pattern, new Booking("after-restart", 7));
        await _handled.WhenCountAsync(1, TimeSpan.FromSeconds(30));
        Assert.Equal(7, Assert.Single(_handled.Items));
    }
}
