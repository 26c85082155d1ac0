using Akka.TestKit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Twyla.Streams.Hosting;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.TestKit;

/// <summary>
/// Runs a service built with <c>AddTwyla</c> in a test: its own configuration code on a Generic Host whose event bus
/// is in-memory whatever the configuration says (a broker address in the environment or in code is ignored), its
/// hosted listeners running, its <c>RpcClient</c> served by <see cref="FakeProcedures"/> when the settings name some.
/// The host starts without the default configuration sources (no appsettings files, environment variables or command
/// line), so a test sees only what the service's code and the settings give it. Dispose it to stop the service
/// (its listeners drain, as in production).
/// </summary>
public sealed class TwylaTestHost : IAsyncDisposable
{
    private TwylaTestHost(IHost host)
    {
        Host = host;
    }

    /// <summary>The running host.</summary>
    public IHost Host { get; }

    /// <summary>The host's services.</summary>
    public IServiceProvider Services => Host.Services;

    /// <summary>The service's event bus (in-memory): emit to it to drive the service.</summary>
    public EventBus Bus => Services.GetRequiredService<EventBus>();

    /// <summary>Starts the service that <paramref name="configure"/> sets up (typically the same method its <c>Program</c> calls).</summary>
    /// <param name="configure">Configures the host as the service does: <c>AddTwyla</c>, its listeners, <c>AddRpc</c>, its services.</param>
    /// <returns>The started host.</returns>
    public static Task<TwylaTestHost> StartAsync(Action<IHostApplicationBuilder> configure) => StartAsync(configure, TwylaTestHostSettings.Default);

    /// <summary>Starts the service that <paramref name="configure"/> sets up, as <paramref name="settings"/> say.</summary>
    /// <param name="configure">Configures the host as the service does.</param>
    /// <param name="settings">Fake procedures, configuration values, start timeout.</param>
    /// <returns>The started host: its listeners' queues exist, so events emitted from now on reach them.</returns>
    public static async Task<TwylaTestHost> StartAsync(Action<IHostApplicationBuilder> configure, TwylaTestHostSettings settings)
    {
        ArgumentNullException.ThrowIfNull(configure);
        ArgumentNullException.ThrowIfNull(settings);
        var builder = Microsoft.Extensions.Hosting.Host.CreateApplicationBuilder(new HostApplicationBuilderSettings
        {
            DisableDefaults = true,
            EnvironmentName = Environments.Development,
            ContentRootPath = AppContext.BaseDirectory,
        });
        builder.Configuration.AddInMemoryCollection(settings.Configuration);
        configure(builder);

        // What makes it a test host, applied after the service configured itself.
        builder.Services.PostConfigure<TwylaOptions>(static options => options.Transport = TwylaTransport.InMemory);
        if (settings.FakeProcedures is { } fakes)
        {
            ReplaceRpcClient(builder.Services, fakes);
        }

        var host = builder.Build();
        using var timeout = new CancellationTokenSource(settings.StartTimeout);
        try
        {
            await host.StartAsync(timeout.Token).ConfigureAwait(false);
        }
        catch
        {
            await DisposeHostAsync(host).ConfigureAwait(false);
            throw;
        }

        return new TwylaTestHost(host);
    }

    /// <summary>Probes of the service's bus for a test written with the Akka TestKit.</summary>
    /// <param name="testKit">The test.</param>
    /// <returns>The probes.</returns>
    public BusProbe CreateProbe(TestKitBase testKit) => new(testKit, Bus);

    /// <summary>Stops the service: its listeners drain (events in flight finish and are settled), then the host stops.</summary>
    /// <returns>Completes when the host has stopped.</returns>
    public Task StopAsync() => Host.StopAsync(CancellationToken.None);

    /// <summary>Stops the service and disposes the host (and with it the event bus).</summary>
    /// <returns>Completes when the host is disposed.</returns>
    public async ValueTask DisposeAsync()
    {
        await Host.StopAsync(CancellationToken.None).ConfigureAwait(false);
        await DisposeHostAsync(Host).ConfigureAwait(false);
    }

    private static async Task DisposeHostAsync(IHost host)
    {
        if (host is IAsyncDisposable asyncDisposable)
        {
            await asyncDisposable.DisposeAsync().ConfigureAwait(false);
        }
        else
        {
            host.Dispose();
        }
    }

    /// <summary>The service's client, made by the service's own registration, gives its settings to a client of the fakes.</summary>
    private static void ReplaceRpcClient(IServiceCollection services, FakeProcedures fakes)
    {
        var registered = services.LastOrDefault(d => d.ServiceType == typeof(RpcClient) && !d.IsKeyedService);
        services.RemoveAll<RpcClient>();
        services.AddSingleton(sp =>
        {
            switch (registered)
            {
                case { ImplementationInstance: RpcClient client }:
                    return fakes.CreateClient(client.Settings);
                case { ImplementationFactory: { } factory }:
                    using (var own = (RpcClient)factory(sp))
                    {
                        return fakes.CreateClient(own.Settings);
                    }

                default:
                    return fakes.CreateClient();
            }
        });
    }
}
