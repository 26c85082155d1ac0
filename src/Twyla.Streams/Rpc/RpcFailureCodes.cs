namespace Twyla.Streams.Rpc;

/// <summary>
/// The codes of <see cref="RpcResult{T}.Failure"/>. A server that answers with an RFC 9457 problem carrying a
/// <c>code</c> member passes its own code on instead (e.g. <see cref="InternalError"/> from a Twyla server).
/// </summary>
public static class RpcFailureCodes
{
    /// <summary>The network exchange failed (DNS, reset connection, protocol error).</summary>
    public const string TransportError = "transport_error";

    /// <summary>Nothing listens at the service's address.</summary>
    public const string ConnectionRefused = "connection_refused";

    /// <summary>An HTTP error status without a more specific code.</summary>
    public const string HttpError = "http_error";

    /// <summary>A 5xx status without a problem code.</summary>
    public const string ServerError = "server_error";

    /// <summary>A 404 status without a problem code (e.g. no RPC endpoint at the address).</summary>
    public const string NotFound = "not_found";

    /// <summary>A 400 status without a problem code.</summary>
    public const string BadRequest = "bad_request";

    /// <summary>The request body was larger than the server accepts (413).</summary>
    public const string PayloadTooLarge = "payload_too_large";

    /// <summary>The response body could not be read as the response type.</summary>
    public const string DeserializationError = "deserialization_error";

    /// <summary>The request could not be serialized to JSON.</summary>
    public const string SerializationError = "serialization_error";

    /// <summary>The service name has no configured address and no URL template applies.</summary>
    public const string UnknownService = "unknown_service";

    /// <summary>The service's circuit breaker is open: the call was not attempted.</summary>
    public const string CircuitOpen = "circuit_open";

    /// <summary>The caller cancelled the call (its <see cref="CancellationToken"/>) before it ended.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Server side: no procedure of that name is served (404).</summary>
    public const string UnknownProcedure = "unknown_procedure";

    /// <summary>Server side: a procedure was called with another method than POST (405).</summary>
    public const string MethodNotAllowed = "method_not_allowed";

    /// <summary>Server side: the request body was malformed or broke the contract (400).</summary>
    public const string InvalidRequest = "invalid_request";

    /// <summary>Server side: the handler threw (500); the body never carries a stack trace.</summary>
    public const string InternalError = "internal_error";

    /// <summary>Server side: the caller's deadline passed before the handler finished (504).</summary>
    public const string DeadlineExceeded = "deadline_exceeded";

    /// <summary>
    /// Server side: the flow serving the procedure gave no answer to this request within its answer timeout (500): it
    /// dropped the request (a <c>Where</c>, a <c>Collect</c>) or is stuck.
    /// </summary>
    public const string NoAnswer = "no_answer";
}
