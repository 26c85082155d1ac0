using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Twyla.Streams.Hosting.Listeners;

namespace Twyla.Streams.Hosting;

/// <summary>The one call that makes a Generic Host a Twyla service.</summary>
public static class TwylaHostApplicationBuilderExtensions
{
    /// <summary>
    /// Registers the event bus from the configuration section <c>Twyla</c> (see
    /// <see cref="TwylaServiceCollectionExtensions.AddTwylaEvents(Microsoft.Extensions.DependencyInjection.IServiceCollection)"/>,
    /// health checks included) and an Akka.NET actor system named after the service, configured by
    /// <paramref name="configureAkka"/>, where listeners are registered with
    /// <see cref="TwylaAkkaConfigurationBuilderExtensions"/>. A service that configures Akka.Hosting itself calls
    /// <c>AddTwylaEvents()</c> and <c>AddAkka(...)</c> instead.
    /// </summary>
    /// <param name="builder">The host application builder.</param>
    /// <param name="configureAkka">Registers listeners (and anything else) on the actor system.</param>
    /// <returns>The same builder.</returns>
    public static IHostApplicationBuilder AddTwyla(this IHostApplicationBuilder builder, Action<AkkaConfigurationBuilder> configureAkka)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configureAkka);
        builder.Services.AddTwylaEvents();
        var serviceName = builder.Configuration[$"{TwylaOptions.SectionName}:ServiceName"];
        var systemName = ActorSystemName(string.IsNullOrWhiteSpace(serviceName) ? builder.Environment.ApplicationName : serviceName);
        builder.Services.AddAkka(systemName, (akka, services) =>
        {
            // When the actor system shuts down by itself (not through the host), listeners drain in this phase.
            var drain = services.GetRequiredService<IOptions<TwylaOptions>>().Value.DrainTimeout ?? ListenerSettings.DefaultDrainTimeout;
            var phaseTimeout = (long)(drain + TimeSpan.FromSeconds(5)).TotalMilliseconds;
            akka.AddHocon($"akka.coordinated-shutdown.phases.service-requests-done.timeout = {phaseTimeout}ms", HoconAddMode.Prepend);
            configureAkka(akka);
        });
        return builder;
    }

    /// <summary>
    /// Like <see cref="AddTwyla(IHostApplicationBuilder, Action{AkkaConfigurationBuilder})"/>, for a lambda that returns
    /// the Akka.Hosting builder it was given, as a fluent chain of <c>WithTwylaListener</c> calls does: F# needs no
    /// <c>|&gt; ignore</c> inside it.
    /// </summary>
    /// <param name="builder">The host application builder.</param>
    /// <param name="configureAkka">Registers listeners (and anything else) on the actor system; its result is not used.</param>
    /// <returns>The same builder.</returns>
    public static IHostApplicationBuilder AddTwyla(this IHostApplicationBuilder builder, Func<AkkaConfigurationBuilder, AkkaConfigurationBuilder> configureAkka)
    {
        ArgumentNullException.ThrowIfNull(configureAkka);
        return builder.AddTwyla(akka => { _ = configureAkka(akka); });
    }

    /// <summary>An actor system name (letters, digits, '-' and '_', not starting with '-' or '_') from a service name.</summary>
    internal static string ActorSystemName(string? serviceName)
    {
        var chars = (serviceName ?? string.Empty).Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' ? c : '-').ToArray();
        var name = new string(chars).Trim('-', '_');
        return name.Length == 0 ? "twyla-service" : name;
    }
}
