namespace Twyla.Streams.Rpc;

/// <summary>
/// The ambient context of the procedure call being served: its correlation id, deadline and trace context.
/// A Twyla server sets it around a handler delegate, and the <see cref="RpcClient"/> reads it, so a handler that
/// calls another procedure passes the correlation id and the (shorter) deadline on without doing anything.
/// </summary>
/// <remarks>
/// It flows with the async context (<see cref="AsyncLocal{T}"/>): it is visible in a handler delegate and in
/// what it awaits, but not inside a stream stage, which runs on the stream's actors. A flow served by
/// Twyla.Streams.Hosting's <c>MapRpcFlow</c> gets it back, with the call's log scope and span, in stages built with
/// <c>SelectAsyncInCallContext</c>.
/// </remarks>
public sealed class RpcContext
{
    private static readonly AsyncLocal<RpcContext?> Ambient = new();

    /// <summary>Creates the context of a call being served (servers do, see <see cref="Current"/>).</summary>
    /// <param name="procedure">The procedure being served, without the service.</param>
    /// <param name="correlationId">The caller's correlation id.</param>
    /// <param name="deadline">When the caller stops waiting, or <c>null</c>.</param>
    /// <param name="traceParent">The caller's W3C <c>traceparent</c>, or an empty string.</param>
    public RpcContext(string procedure, string correlationId, DateTimeOffset? deadline, string traceParent)
    {
        Procedure = procedure;
        CorrelationId = correlationId;
        Deadline = deadline;
        TraceParent = traceParent;
    }

    /// <summary>
    /// The context of the call being served here, or <c>null</c> outside a handler. A server sets it around the handler
    /// it runs (Twyla.Streams.Hosting's endpoints do) and clears it afterwards.
    /// </summary>
    public static RpcContext? Current
    {
        get => Ambient.Value;
        set => Ambient.Value = value;
    }

    /// <summary>The procedure being served (without the service), e.g. <c>get_booking</c>.</summary>
    public string Procedure { get; }

    /// <summary>The correlation id the caller sent (or a new one when it sent none).</summary>
    public string CorrelationId { get; }

    /// <summary>When the caller stops waiting, or <c>null</c> when it sent no deadline.</summary>
    public DateTimeOffset? Deadline { get; }

    /// <summary>The caller's W3C <c>traceparent</c> header, or an empty string when it sent none.</summary>
    public string TraceParent { get; }
}
