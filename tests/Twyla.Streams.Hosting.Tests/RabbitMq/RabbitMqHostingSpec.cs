using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting.Listeners;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.RabbitMq;

/// <summary>A host whose event bus is made by <c>AddTwylaEvents</c> from options pointing at the test broker.</summary>
public abstract class RabbitMqHostingSpec(ITestOutputHelper output) : Akka.Hosting.TestKit.TestKit(output: output, startupTimeout: HostStartupTimeout)
{
    protected const string Pattern = "booking.created";

    /// <summary>How long the host may take to start (the TestKit's default of 10 s is tight on a loaded 2-core machine).</summary>
    private static readonly TimeSpan HostStartupTimeout = TimeSpan.FromSeconds(60);

    /// <summary>An exchange of the test's own, so tests do not see each other's events.</summary>
    protected string Exchange { get; } = "twyla.hosting-test." + Guid.NewGuid().ToString("N")[..12];

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected EventBus Bus => Host.Services.GetRequiredService<EventBus>();

    internal HostedListener Listener(string group) => Host.Services.GetRequiredService<TwylaListeners>().Listeners.Single(l => l.Group == group);

    protected Task<HealthReport> HealthAsync() => Host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);

    /// <summary>The broker the host talks to: the node of <c>./test.sh</c> unless a test gives its own.</summary>
    protected virtual string BrokerUri => Broker.Uri;

    protected override void ConfigureServices(HostBuilderContext context, IServiceCollection services) =>
        services.AddTwylaEvents(o =>
        {
            o.Amqp.Uri = BrokerUri;
            o.Exchange = Exchange;
            o.ServiceName = "hosting-tests";
        });

    protected override void ConfigureLogging(ILoggingBuilder builder)
    {
    }

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder, IServiceProvider provider) => ConfigureListeners(builder);

    protected abstract void ConfigureListeners(AkkaConfigurationBuilder builder);

    /// <summary>A second bus on the same broker and exchange, for the test to emit and to read queues after the host stopped.</summary>
    protected EventBus SecondBus() =>
        EventBus.RabbitMq(
            Transport.RabbitMq.RabbitMqSettings.FromUri(BrokerUri).WithExchange(Exchange), EventBusSettings.Create("hosting-tests-reader"));
}
