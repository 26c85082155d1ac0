using System.Text.Json;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>
/// Options of the procedures served with <see cref="RpcEndpointRouteBuilderExtensions"/>. Register them with
/// <c>services.Configure&lt;RpcServerOptions&gt;(...)</c> or bind them from configuration (section <c>Twyla:Rpc:Server</c>);
/// a property left <c>null</c> keeps its default.
/// </summary>
public sealed class RpcServerOptions
{
    /// <summary>The default body size limit: 1 MiB.</summary>
    public const long DefaultMaxRequestBodyBytes = 1024 * 1024;

    /// <summary>The default number of requests a flow-served procedure buffers before callers wait.</summary>
    public const int DefaultFlowBufferSize = 256;

    /// <summary>The largest request body accepted; a larger one is answered 413 (default 1 MiB).</summary>
    public long? MaxRequestBodyBytes { get; set; }

    /// <summary>How many requests a flow-served procedure buffers in front of its flow (default 256).</summary>
    public int? FlowBufferSize { get; set; }

    /// <summary>How bodies are (de)serialized (default: <see cref="EventBusSettings.DefaultJsonOptions"/>, which enforces required members and nullable annotations).</summary>
    public JsonSerializerOptions? JsonOptions { get; set; }

    internal long EffectiveMaxRequestBodyBytes => MaxRequestBodyBytes is > 0 ? MaxRequestBodyBytes.Value : DefaultMaxRequestBodyBytes;

    internal int EffectiveFlowBufferSize => FlowBufferSize is > 0 ? FlowBufferSize.Value : DefaultFlowBufferSize;

    internal JsonSerializerOptions EffectiveJsonOptions => JsonOptions ?? EventBusSettings.DefaultJsonOptions;
}
