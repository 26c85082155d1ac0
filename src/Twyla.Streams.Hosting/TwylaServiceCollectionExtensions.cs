using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Twyla.Streams.Hosting.Configuration;
using Twyla.Streams.Hosting.HealthChecks;
using Twyla.Streams.Hosting.Listeners;

namespace Twyla.Streams.Hosting;

/// <summary>
/// Registers a service's <see cref="EventBus"/> with Microsoft.Extensions.DependencyInjection: options bound from the
/// configuration section <c>Twyla</c>, the bus singleton, the drain of hosted listeners and the health checks.
/// </summary>
public static class TwylaServiceCollectionExtensions
{
    /// <summary>The name of the health check of the broker connection.</summary>
    public const string BrokerHealthCheckName = "twyla-broker";

    /// <summary>The name of the health check of the hosted listeners.</summary>
    public const string ListenersHealthCheckName = "twyla-listeners";

    /// <summary>The tag of Twyla's health checks.</summary>
    public const string HealthCheckTag = "twyla";

    /// <summary>
    /// Registers the event bus configured by the section <c>Twyla</c> of the host's configuration. See
    /// <see cref="AddTwylaEvents(IServiceCollection, Action{TwylaOptions})"/>.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddTwylaEvents(this IServiceCollection services) => services.AddTwylaEvents(static _ => { });

    /// <summary>
    /// Registers the event bus: <see cref="TwylaOptions"/> bound from the section <c>Twyla</c> of the host's
    /// configuration (and the classic <c>TWYLA_AMQP_*</c> variables), then changed by <paramref name="configure"/>;
    /// the <see cref="EventBus"/> singleton made from them (disposed with the service provider, after the listeners
    /// drained); the drain of the listeners registered with
    /// <see cref="TwylaAkkaConfigurationBuilderExtensions.WithTwylaListener{T}(Akka.Hosting.AkkaConfigurationBuilder, string, string, Func{Twyla.Streams.Events.Event{T}, Task})"/>
    /// at host shutdown; and the health checks <see cref="BrokerHealthCheckName"/> and
    /// <see cref="ListenersHealthCheckName"/>. Invalid options fail the host's start with a message naming the key.
    /// An <see cref="EventBus"/> registered before this call is used instead of one made from the options.
    /// </summary>
    /// <param name="services">The service collection.</param>
    /// <param name="configure">Changes the options after they were bound from configuration.</param>
    /// <returns>The same service collection.</returns>
    public static IServiceCollection AddTwylaEvents(this IServiceCollection services, Action<TwylaOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        var options = services.AddOptions<TwylaOptions>();
        if (!services.Any(d => d.ServiceType == typeof(TwylaRegistered)))
        {
            services.AddSingleton<TwylaRegistered>();
            options.Configure<IServiceProvider>(static (o, sp) =>
            {
                if (sp.GetService<IConfiguration>() is { } configuration)
                {
                    TwylaOptionsBinder.Bind(o, configuration);
                }
            });
            options.ValidateOnStart();
            services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<TwylaOptions>, TwylaOptionsValidator>());
            services.TryAddSingleton(static sp => TwylaEventBusFactory.Create(
                sp.GetRequiredService<IOptions<TwylaOptions>>().Value,
                sp.GetService<IHostEnvironment>()?.ApplicationName ?? "twyla-service",
                sp.GetService<IHostEnvironment>(),
                sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance));
            services.AddHostedService<TwylaEventBusStartup>();
            services.TryAddSingleton(static sp => new TwylaListeners(sp, sp.GetService<ILoggerFactory>() ?? NullLoggerFactory.Instance));
            services.AddHostedService<TwylaLifecycleService>();
            services.AddHealthChecks()
                .AddCheck<BrokerHealthCheck>(BrokerHealthCheckName, HealthStatus.Unhealthy, [HealthCheckTag], TimeSpan.FromSeconds(5))
                .AddCheck<ListenersHealthCheck>(ListenersHealthCheckName, HealthStatus.Unhealthy, [HealthCheckTag]);
        }

        options.Configure(configure);
        return services;
    }

    /// <summary>Marks a service collection where Twyla was registered, so a second call does not register twice.</summary>
    private sealed class TwylaRegistered;
}
