using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting.Listeners;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Infrastructure;

/// <summary>
/// A host started with the Akka.Hosting TestKit, whose event bus is an in-memory bus owned by the test (registered
/// before <c>AddTwylaEvents</c>, so it outlives the host and the test can read the queues after shutdown).
/// </summary>
public abstract class TwylaHostingSpec(ITestOutputHelper output) : Akka.Hosting.TestKit.TestKit(output: output, startupTimeout: HostStartupTimeout)
{
    protected const string Pattern = "booking.created";

    /// <summary>How long the host may take to start (the TestKit's default of 10 s is tight on a loaded 2-core machine).</summary>
    private static readonly TimeSpan HostStartupTimeout = TimeSpan.FromSeconds(60);

    public EventBus Bus { get; } = EventBus.InMemory(EventBusSettings.Create("hosting-tests"));

    public LogCapture Logs { get; } = new();

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    internal TwylaListeners Listeners => Host.Services.GetRequiredService<TwylaListeners>();

    internal HostedListener Listener(string group) => Listeners.Listeners.Single(l => l.Group == group);

    protected Task<HealthReport> HealthAsync() => Host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    protected internal Task EmitAsync(int from, int count) =>
        Task.WhenAll(Enumerable.Range(from, count).Select(n => Bus.EmitAsync(Pattern, new Booking($"b-{n}", n))));

    protected override void ConfigureLogging(ILoggingBuilder builder) => builder.AddProvider(Logs);

    protected override void ConfigureServices(HostBuilderContext context, IServiceCollection services)
    {
        services.AddSingleton(Bus);
        services.AddTwylaEvents(o => o.ServiceName = "hosting-tests");
    }

    protected override void ConfigureAkka(AkkaConfigurationBuilder builder, IServiceProvider provider) => ConfigureListeners(builder);

    protected abstract void ConfigureListeners(AkkaConfigurationBuilder builder);
}
