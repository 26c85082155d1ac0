using Twyla.Streams.Rpc;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>
/// The section <c>Twyla:Rpc</c>, bound and checked when the host starts (see
/// <see cref="RpcServiceCollectionExtensions"/>): its public properties are the keys the section accepts.
/// </summary>
internal sealed class TwylaRpcOptions
{
    /// <summary>Base URLs by service name (<c>Twyla:Rpc:Services:{name}</c>).</summary>
    public Dictionary<string, string> Services { get; } = new(StringComparer.Ordinal);

    /// <summary>The URL template for other services (<c>Twyla:Rpc:UrlTemplate</c>; empty disables it).</summary>
    public string? UrlTemplate { get; set; }

    /// <summary>The default call timeout (<c>Twyla:Rpc:Timeout</c>).</summary>
    public TimeSpan? Timeout { get; set; }

    /// <summary>The server's options (<c>Twyla:Rpc:Server</c>).</summary>
    public RpcServerOptions Server { get; } = new();

    /// <summary>The client settings made from the keys above (their rules are <see cref="RpcClientSettings"/>'s).</summary>
    internal RpcClientSettings Client { get; set; } = RpcClientSettings.Create();
}
