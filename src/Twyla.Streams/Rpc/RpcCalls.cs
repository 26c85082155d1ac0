using System.Diagnostics;
using System.Text.Json;
using Twyla.Streams.Diagnostics;

namespace Twyla.Streams.Rpc;

/// <summary>
/// One call of <see cref="RpcClient"/> from request to result: where it goes (<see cref="CreateTarget"/>), the body,
/// the deadline (the call's timeout or the caller's remaining deadline, whichever is shorter), the correlation id, the
/// trace context, the attempts through the <see cref="RpcResilience"/> pipeline and the mapping of what came back to
/// exactly one <see cref="RpcResult{T}"/>, with its metrics. Plain code, no Akka; the client is its public face.
/// </summary>
internal sealed class RpcCalls(RpcClientSettings clientSettings, RpcHttpSender sender, RpcResilience resilience)
{
    private RpcClientSettings Settings => clientSettings;

    public RpcTarget CreateTarget(string procedure, string parameterName)
    {
        var (service, name) = RpcProcedureName.Parse(procedure, parameterName);
        var baseUri = Settings.Resolve(service);
        var endpoint = baseUri is null ? null : new Uri(baseUri.AbsoluteUri.TrimEnd('/') + RpcHeaders.PathPrefix + name, UriKind.Absolute);
        return new RpcTarget(procedure, service, endpoint);
    }

    public async Task<RpcResult<TResponse>> InvokeAsync<TRequest, TResponse>(
        RpcTarget target, TRequest request, RpcCallSettings settings, RpcContext? ambient, CancellationToken cancellationToken, string? correlationId = null)
    {
        var start = Stopwatch.GetTimestamp();
        RpcResult<TResponse> result;
        try
        {
            result = await InvokeCoreAsync<TRequest, TResponse>(target, request, settings, ambient, cancellationToken, correlationId).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the contract: a failed call is a Failure, never an exception out of the flow
        catch (Exception e)
#pragma warning restore CA1031
        {
            result = Unexpected<TResponse>(target, e);
        }

        RpcClientTelemetry.Called(target.Service, target.Method, start, result);
        return result;
    }

    private async Task<RpcResult<TResponse>> InvokeCoreAsync<TRequest, TResponse>(
        RpcTarget target, TRequest request, RpcCallSettings settings, RpcContext? ambient, CancellationToken cancellationToken, string? explicitCorrelationId)
    {
        var start = Stopwatch.GetTimestamp();
        if (target.Endpoint is null)
        {
            return new RpcResult<TResponse>.Failure(
                RpcFailureCodes.UnknownService,
                $"The service '{target.Service}' cannot be resolved: no address is configured (Twyla:Rpc:Services:{target.Service}) and no URL template is set.",
                0);
        }

        byte[] body;
        try
        {
            body = JsonSerializer.SerializeToUtf8Bytes(request, Settings.JsonOptions);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            return new RpcResult<TResponse>.Failure(RpcFailureCodes.SerializationError, $"The request could not be serialized: {e.Message}", 0);
        }

        var timeout = settings.Timeout;
        if (ambient?.Deadline is { } deadline)
        {
            var remaining = deadline - DateTimeOffset.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                return new RpcResult<TResponse>.Timeout(TimeSpan.Zero);
            }

            timeout = remaining < timeout ? remaining : timeout;
        }

        var correlationId = explicitCorrelationId is not null ? explicitCorrelationId
            : settings.CorrelationId.Length > 0 ? settings.CorrelationId
            : ambient is not null ? ambient.CorrelationId
            : Guid.CreateVersion7().ToString("D");

        using var activity = RpcTracing.StartClient(target, correlationId);
        var parent = activity ?? Activity.Current;
        var traceParent = parent is { IdFormat: ActivityIdFormat.W3C } ? parent.Id : null;
        var traceState = parent?.TraceStateString;

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var call = new RpcCall(target, settings, body, correlationId, traceParent, traceState, start, timeout, cts.Token);
        RpcResult<TResponse> result;
        try
        {
            result = await SendAsync<TResponse>(call, cancellationToken).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the contract: a failed call is a Failure, never an exception out of the flow
        catch (Exception e)
#pragma warning restore CA1031
        {
            result = Unexpected<TResponse>(target, e);
        }

        RpcTracing.Ended(activity, result); // the span ends with the outcome the metric records: one classification
        return result;
    }

    /// <summary>The attempts of <paramref name="call"/> and what they came to; a deadline the caller cancelled is <c>cancelled</c>.</summary>
    private async Task<RpcResult<TResponse>> SendAsync<TResponse>(RpcCall call, CancellationToken callerToken)
    {
        var result = await resilience.ExecuteAsync(call, sender.SendAsync).ConfigureAwait(false);
        return result.Kind switch
        {
            RpcAttemptKind.Ok => Deserialize<TResponse>(result),
            RpcAttemptKind.TimedOut => callerToken.IsCancellationRequested
                ? new RpcResult<TResponse>.Failure(RpcFailureCodes.Cancelled, "The caller cancelled the call.", 0)
                : new RpcResult<TResponse>.Timeout(Stopwatch.GetElapsedTime(call.Start)),
            _ => new RpcResult<TResponse>.Failure(result.Code, result.Message, result.Status),
        };
    }

    private static RpcResult<TResponse> Unexpected<TResponse>(RpcTarget target, Exception e) =>
        new RpcResult<TResponse>.Failure(RpcFailureCodes.TransportError, $"Calling '{target.Procedure}' failed: {e.Message}", 0);

    private RpcResult<TResponse> Deserialize<TResponse>(RpcAttempt result)
    {
        try
        {
            var value = JsonSerializer.Deserialize<TResponse>(result.Body, Settings.JsonOptions);
            return value is null
                ? new RpcResult<TResponse>.Failure(RpcFailureCodes.DeserializationError, $"The response was JSON null, not a {TypeNames.Of(typeof(TResponse))}.", result.Status)
                : new RpcResult<TResponse>.Success(value);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            return new RpcResult<TResponse>.Failure(RpcFailureCodes.DeserializationError, $"The response could not be read as {TypeNames.Of(typeof(TResponse))}: {TypeNames.InMessage(e.Message)}", result.Status);
        }
    }
}
