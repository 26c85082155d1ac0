namespace Twyla.Streams.Rpc;

/// <summary>How one HTTP attempt of a call ended.</summary>
internal enum RpcAttemptKind
{
    Ok,
    Error,
    TimedOut,
}

/// <summary>
/// One HTTP attempt of a call: the response body of a success, the failure code of an error (and whether trying
/// again may help), or the deadline passing.
/// </summary>
internal sealed class RpcAttempt
{
    public static readonly RpcAttempt TimedOut = new(RpcAttemptKind.TimedOut, [], 0, string.Empty, string.Empty, false);

    private RpcAttempt(RpcAttemptKind kind, byte[] body, int status, string code, string message, bool transient)
    {
        Kind = kind;
        Body = body;
        Status = status;
        Code = code;
        Message = message;
        Transient = transient;
    }

    public RpcAttemptKind Kind { get; }

    public byte[] Body { get; }

    public int Status { get; }

    public string Code { get; }

    public string Message { get; }

    /// <summary>Whether another attempt may succeed (a refused connection, a 5xx, a 429), so an idempotent call retries.</summary>
    public bool Transient { get; }

    /// <summary>Whether the circuit breaker counts it: timeouts and transient errors, not the caller's own mistakes.</summary>
    public bool CountsAsFailure => Kind == RpcAttemptKind.TimedOut || (Kind == RpcAttemptKind.Error && Transient);

    public static RpcAttempt Ok(byte[] body, int status) => new(RpcAttemptKind.Ok, body, status, string.Empty, string.Empty, false);

    public static RpcAttempt Error(string code, string message, int status, bool transient) =>
        new(RpcAttemptKind.Error, [], status, code, message, transient);
}

/// <summary>Where a procedure is called: its qualified name, its service and its endpoint (null when the service cannot be resolved).</summary>
internal sealed record RpcTarget(string Procedure, string Service, Uri? Endpoint)
{
    /// <summary>The procedure without its service (<c>rpc.method</c>).</summary>
    public string Method { get; } = Procedure[(Service.Length + 1)..];
}

/// <summary>One call as its attempts share it: the target, the serialized body, the headers' values, the deadline.</summary>
internal sealed record RpcCall(
    RpcTarget Target,
    RpcCallSettings Settings,
    byte[] Body,
    string CorrelationId,
    string? TraceParent,
    string? TraceState,
    long Start,
    TimeSpan Timeout,
    CancellationToken Token);
