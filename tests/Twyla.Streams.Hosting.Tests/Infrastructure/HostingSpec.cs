using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting.Listeners;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.Infrastructure;

/// <summary>
/// A Generic Host started before each test, whose services and listeners a test configures (on an Akka.TestKit of its
/// own for the awaiting helpers): what the in-memory and the RabbitMQ hosting specs share.
/// </summary>
public abstract class HostingSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output), IAsyncLifetime
{
    protected const string Pattern = "booking.created";

    /// <summary>How long the host may take to start (generous: a loaded 2-core machine).</summary>
    private static readonly TimeSpan HostStartupTimeout = TimeSpan.FromSeconds(60);

    private IHost? _host;

    /// <summary>The event bus the host's listeners consume from.</summary>
    public abstract EventBus Bus { get; }

    /// <summary>The host, started before the test.</summary>
    public IHost Host => _host ?? throw new InvalidOperationException("The host did not start.");

    protected static CancellationToken Ct => CancellationToken.None;

    internal HostedListener Listener(string group) =>
        Host.Services.GetRequiredService<TwylaListeners>().Listeners.Single(l => l.Group == group);

    protected Task<HealthReport> HealthAsync() => Host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(Ct);

    public virtual async Task InitializeAsync()
    {
        var host = new HostBuilder()
            .ConfigureLogging(ConfigureLogging)
            .ConfigureServices((context, services) =>
            {
                ConfigureServices(context, services);
                services.AddAkka("hosting-tests", (builder, provider) =>
                {
                    builder.AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend);
                    ConfigureAkka(builder, provider);
                });
            })
            .Build();
        _host = host;
        using var timeout = new CancellationTokenSource(HostStartupTimeout);
        await host.StartAsync(timeout.Token);
    }

    public virtual async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync(Ct);
            _host.Dispose();
        }
    }

    protected virtual void ConfigureLogging(ILoggingBuilder builder)
    {
    }

    protected virtual void ConfigureServices(HostBuilderContext context, IServiceCollection services)
    {
    }

    protected virtual void ConfigureAkka(AkkaConfigurationBuilder builder, IServiceProvider provider) => ConfigureListeners(builder);

    protected abstract void ConfigureListeners(AkkaConfigurationBuilder builder);

    /// <summary>
    /// Emits events 1 to 80 with <paramref name="emitter"/>, stops the host while <paramref name="handler"/> holds
    /// the 50 it was handed, checks the listener drains (not stopped, none finished), releases the handlers, and checks
    /// the host stopped with exactly those 50 finished. Returns what the group's queue holds afterwards: the 30 never
    /// handed over, and event 999 emitted after the stop.
    /// </summary>
    internal async Task<IReadOnlyList<Events.Event<Booking>>> StopWhileFiftyHandlersRunAsync(EventBus emitter, BlockingHandler handler, string group)
    {
        await Task.WhenAll(Enumerable.Range(1, 80).Select(n => emitter.EmitAsync(Pattern, new Booking($"b-{n}", n))));
        await handler.Started.WhenCountAsync(50);

        var stopping = Host.StopAsync(Ct);
        await AwaitConditionAsync(() => Task.FromResult(Listener(group).State == ListenerState.Draining), TimeSpan.FromSeconds(5), cancellationToken: Ct);
        Assert.False(stopping.IsCompleted);
        Assert.Equal(0, handler.Completed.Count);

        handler.Release();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30), Ct);

        // All 50 finished before the host stopped; no other event was handed to the handler.
        Assert.Equal(handler.Started.Items.Order(), handler.Completed.Items.Order());
        Assert.Equal(50, handler.Completed.Count);

        // They were acked (none comes back), and the 30 never handed over are still queued.
        await emitter.EmitAsync(Pattern, new Booking("after-stop", 999));
        var left = await QueueReader.TakeAsync(emitter, Pattern, group, 31);
        Assert.Equal(Enumerable.Range(1, 80).Except(handler.Completed.Items).Append(999).Order(), left.Select(e => e.Payload.N).Order());
        return left;
    }
}
