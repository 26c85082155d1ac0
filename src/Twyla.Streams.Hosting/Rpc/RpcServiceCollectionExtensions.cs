using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>Registers the RPC client and server options from configuration.</summary>
/// <remarks>
/// Configuration (section <c>Twyla:Rpc</c>, e.g. environment variable <c>Twyla__Rpc__Services__navitaire-api</c>):
/// <list type="bullet">
/// <item><c>Services:{name}</c>: the base URL of a service;</item>
/// <item><c>UrlTemplate</c>: the template for other services (default <c>http://{service}</c>; an empty value disables it);</item>
/// <item><c>Timeout</c>: the default call timeout, e.g. <c>00:00:05</c>;</item>
/// <item><c>Server:MaxRequestBodyBytes</c>, <c>Server:FlowBufferSize</c>, <c>Server:FlowAnswerTimeout</c>: see <see cref="RpcServerOptions"/>.</item>
/// </list>
/// </remarks>
public static class RpcServiceCollectionExtensions
{
    /// <summary>The configuration section of RPC.</summary>
    public const string SectionName = "Twyla:Rpc";

    /// <summary>Registers a singleton <see cref="RpcClient"/> configured from <paramref name="configuration"/>, and the server options.</summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The application's configuration root.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddRpc(this IServiceCollection services, IConfiguration configuration) =>
        AddRpc(services, configuration, static settings => settings);

    /// <summary>
    /// Registers a singleton <see cref="RpcClient"/> configured from <paramref name="configuration"/> and then by
    /// <paramref name="configure"/>, and the server options.
    /// </summary>
    /// <param name="services">The services.</param>
    /// <param name="configuration">The application's configuration root.</param>
    /// <param name="configure">Adjusts the settings read from configuration.</param>
    /// <returns>The services, for chaining.</returns>
    public static IServiceCollection AddRpc(
        this IServiceCollection services, IConfiguration configuration, Func<RpcClientSettings, RpcClientSettings> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        ArgumentNullException.ThrowIfNull(configure);
        services.Configure<RpcServerOptions>(configuration.GetSection(SectionName + ":Server"));
        services.TryAddSingleton(_ => new RpcClient(configure(ReadClientSettings(configuration))));
        return services;
    }

    internal static RpcClientSettings ReadClientSettings(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        var settings = RpcClientSettings.Create();
        var services = new Dictionary<string, Uri>(StringComparer.Ordinal);
        foreach (var entry in section.GetSection("Services").GetChildren())
        {
            if (!Uri.TryCreate(entry.Value, UriKind.Absolute, out var uri))
            {
                throw new InvalidOperationException($"Configuration {entry.Path} = '{entry.Value}' is not an absolute http(s) URL.");
            }

            services[entry.Key] = uri;
        }

        settings = settings.WithServices(services);
        if (section["UrlTemplate"] is { } template)
        {
            settings = template.Length == 0 ? settings.WithoutUrlTemplate() : settings.WithUrlTemplate(template);
        }

        if (section["Timeout"] is { Length: > 0 } timeout)
        {
            settings = settings.WithCallDefaults(settings.CallDefaults.WithTimeout(TimeSpan.Parse(timeout, CultureInfo.InvariantCulture)));
        }

        return settings;
    }
}
