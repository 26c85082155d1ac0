using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Twyla.Streams.Hosting.Configuration;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>Registers the RPC client and server options from configuration.</summary>
/// <remarks>
/// Configuration (section <c>Twyla:Rpc</c>, e.g. environment variable <c>Twyla__Rpc__Services__navitaire-api</c>):
/// <list type="bullet">
/// <item><c>Services:{name}</c>: the base URL of a service;</item>
/// <item><c>UrlTemplate</c>: the template for other services (default <c>http://{service}</c>; an empty value disables it);</item>
/// <item><c>Timeout</c>: the default call timeout, a time span <c>00:00:05</c> or a number of seconds <c>5</c>;</item>
/// <item><c>Server:MaxRequestBodyBytes</c>, <c>Server:FlowBufferSize</c>, <c>Server:FlowAnswerTimeout</c>: see <see cref="RpcServerOptions"/>.</item>
/// </list>
/// The section is bound and checked when the host starts, with the rules of the rest of the section <c>Twyla</c>: an
/// invalid value or an unknown key fails the start with a message naming the key.
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
        services.AddOptions<TwylaRpcOptions>().Configure(options => TwylaOptionsBinder.BindRpc(options, configuration)).ValidateOnStart();
        services.AddOptions<RpcServerOptions>().Configure<IOptions<TwylaRpcOptions>>(static (server, rpc) =>
        {
            var configured = rpc.Value.Server;
            server.MaxRequestBodyBytes = configured.MaxRequestBodyBytes ?? server.MaxRequestBodyBytes;
            server.FlowBufferSize = configured.FlowBufferSize ?? server.FlowBufferSize;
            server.FlowAnswerTimeout = configured.FlowAnswerTimeout ?? server.FlowAnswerTimeout;
        });
        services.TryAddSingleton(sp => new RpcClient(configure(sp.GetRequiredService<IOptions<TwylaRpcOptions>>().Value.Client)));
        return services;
    }
}
