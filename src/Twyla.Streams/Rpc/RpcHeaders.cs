namespace Twyla.Streams.Rpc;

/// <summary>The HTTP headers of the RPC wire format.</summary>
public static class RpcHeaders
{
    /// <summary>The correlation id of the call chain, sent by the client and echoed by the server.</summary>
    public const string CorrelationId = "Twyla-Correlation-Id";

    /// <summary>The milliseconds the caller still waits (an integer); the server gives up when they pass.</summary>
    public const string DeadlineMs = "Twyla-Deadline-Ms";

    /// <summary>The W3C trace context header.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>The W3C trace state header.</summary>
    public const string TraceState = "tracestate";

    /// <summary>The path prefix of every procedure: <c>POST {base}/rpc/{procedure}</c>.</summary>
    public const string PathPrefix = "/rpc/";
}
