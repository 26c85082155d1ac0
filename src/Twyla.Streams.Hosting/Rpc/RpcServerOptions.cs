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

    /// <summary>The default time a flow-served procedure waits for its flow's answer to one request: 30 s.</summary>
    public static readonly TimeSpan DefaultFlowAnswerTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The largest request body accepted; a larger one is answered 413 (default 1 MiB).</summary>
    public long? MaxRequestBodyBytes { get; set; }

    /// <summary>How many requests a flow-served procedure buffers in front of its flow (default 256).</summary>
    public int? FlowBufferSize { get; set; }

    /// <summary>
    /// How long a flow-served procedure waits for its flow's answer to one request before it answers 500
    /// <c>no_answer</c> (default 30 s). The flow may have dropped the request (a <c>Where</c>, a <c>Collect</c>): no
    /// signal tells a dropped request from a slow one in a flow that may reorder, so this bounds both. Keep it below
    /// your callers' timeouts for them to see the failure rather than their own timeout.
    /// </summary>
    public TimeSpan? FlowAnswerTimeout { get; set; }

    /// <summary>How bodies are (de)serialized (default: <see cref="EventBusSettings.DefaultJsonOptions"/>, which enforces required members and nullable annotations).</summary>
    public JsonSerializerOptions? JsonOptions { get; set; }

    internal long EffectiveMaxRequestBodyBytes => MaxRequestBodyBytes is > 0 ? MaxRequestBodyBytes.Value : DefaultMaxRequestBodyBytes;

    internal int EffectiveFlowBufferSize => FlowBufferSize is > 0 ? FlowBufferSize.Value : DefaultFlowBufferSize;

    internal TimeSpan EffectiveFlowAnswerTimeout => FlowAnswerTimeout is { } timeout && timeout > TimeSpan.Zero ? timeout : DefaultFlowAnswerTimeout;

    internal JsonSerializerOptions EffectiveJsonOptions => JsonOptions ?? EventBusSettings.DefaultJsonOptions;
}
