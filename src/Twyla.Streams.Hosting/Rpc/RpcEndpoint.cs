using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Twyla.Streams.Hosting.Diagnostics;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>
/// Serves one procedure: reads the headers and the body, runs the handler under the caller's deadline and
/// writes the response or a problem.
/// </summary>
internal sealed class RpcEndpoint<TRequest, TResponse>
{
    private readonly string _procedure;
    private readonly Func<TRequest, CancellationToken, Task<TResponse>> _handler;
    private readonly RpcServerOptions _options;
    private readonly ILogger _logger;
    private readonly JsonTypeInfo<TRequest> _requestType;
    private readonly JsonTypeInfo<TResponse> _responseType;

    public RpcEndpoint(string procedure, Func<TRequest, CancellationToken, Task<TResponse>> handler, IServiceProvider services)
    {
        _procedure = procedure;
        _handler = handler;
        _options = services.GetService<IOptions<RpcServerOptions>>()?.Value ?? new RpcServerOptions();
        _logger = services.GetService<ILoggerFactory>()?.CreateLogger("Twyla.Streams.Hosting.Rpc") ?? NullLogger.Instance;
        _requestType = (JsonTypeInfo<TRequest>)_options.EffectiveJsonOptions.GetTypeInfo(typeof(TRequest));
        _responseType = (JsonTypeInfo<TResponse>)_options.EffectiveJsonOptions.GetTypeInfo(typeof(TResponse));
    }

    public RpcServerOptions Options => _options;

    public async Task HandleAsync(HttpContext http)
    {
        var start = Stopwatch.GetTimestamp();
        var headers = http.Request.Headers;
        using var activity = RpcServerTelemetry.Start(_procedure, headers[RpcHeaders.TraceParent].ToString(), headers[RpcHeaders.TraceState].ToString());
        string? failureCode = RpcFailureCodes.InternalError;
        try
        {
            failureCode = await ServeAsync(http, activity).ConfigureAwait(false);
        }
        finally
        {
            RpcServerTelemetry.Served(activity, _procedure, start, failureCode);
        }
    }

    /// <summary>Serves one call; the failure code it answered with, or <c>null</c> for a response.</summary>
    private async Task<string?> ServeAsync(HttpContext http, Activity? activity)
    {
        var headers = http.Request.Headers;
        var correlationId = headers[RpcHeaders.CorrelationId].ToString();
        if (!RpcCallSettings.IsValidCorrelationId(correlationId))
        {
            correlationId = Guid.CreateVersion7().ToString("D");
        }

        http.Response.Headers[RpcHeaders.CorrelationId] = correlationId;
        activity?.SetTag("twyla.correlation_id", correlationId);

        // Every line of this call, the handler's and ours (a failure, a null answer), carries the call in its scope.
        using var logScope = _logger.BeginScope(new RpcLogScope(_procedure, correlationId));
        if (Activity.Current is { IdFormat: ActivityIdFormat.W3C } current)
        {
            http.Response.Headers[RpcHeaders.TraceParent] = current.Id;
        }

        DateTimeOffset? deadline = null;
        var remaining = Timeout.InfiniteTimeSpan;
        if (long.TryParse(headers[RpcHeaders.DeadlineMs].ToString(), NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms > 0)
        {
            remaining = TimeSpan.FromMilliseconds(Math.Min(ms, (long)TimeSpan.FromDays(1).TotalMilliseconds));
            deadline = DateTimeOffset.UtcNow + remaining;
        }

        var limit = _options.EffectiveMaxRequestBodyBytes;
        if (http.Request.ContentLength > limit)
        {
            await TooLargeAsync(http, limit, correlationId).ConfigureAwait(false);
            return RpcFailureCodes.PayloadTooLarge;
        }

        if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = limit;
        }

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        if (remaining != Timeout.InfiniteTimeSpan)
        {
            cts.CancelAfter(remaining);
        }

        TRequest? request;
        try
        {
            request = await JsonSerializer.DeserializeAsync(http.Request.BodyReader, _requestType, cts.Token).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            await RpcProblem.WriteAsync(
                http, StatusCodes.Status400BadRequest, RpcFailureCodes.InvalidRequest, Describe(e), correlationId, MemberOf(e)).ConfigureAwait(false);
            return RpcFailureCodes.InvalidRequest;
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            await TooLargeAsync(http, limit, correlationId).ConfigureAwait(false);
            return RpcFailureCodes.PayloadTooLarge;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return await GaveUpAsync(http, correlationId, deadline, remaining).ConfigureAwait(false);
        }

        if (request is null)
        {
            await RpcProblem.WriteAsync(
                http, StatusCodes.Status400BadRequest, RpcFailureCodes.InvalidRequest, "The request body must be a JSON value, not null.", correlationId)
                .ConfigureAwait(false);
            return RpcFailureCodes.InvalidRequest;
        }

        var context = new RpcContext(_procedure, correlationId, deadline, headers[RpcHeaders.TraceParent].ToString());
        RpcContext.Current = context;
        TResponse response;
        try
        {
            response = await _handler(request, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return await GaveUpAsync(http, correlationId, deadline, remaining).ConfigureAwait(false);
        }
        catch (RpcException e)
        {
            await RpcProblem.WriteAsync(http, e.Status, e.Code, e.Message, correlationId).ConfigureAwait(false);
            return e.Code;
        }
#pragma warning disable CA1031 // any handler exception becomes a 500 problem without its stack trace
        catch (Exception e)
#pragma warning restore CA1031
        {
            _logger.ProcedureFailed(e, _procedure, correlationId);
            await RpcProblem.WriteAsync(
                http,
                StatusCodes.Status500InternalServerError,
                RpcFailureCodes.InternalError,
                $"The procedure '{_procedure}' failed; the server logged the error with correlation id {correlationId}.",
                correlationId).ConfigureAwait(false);
            return RpcFailureCodes.InternalError;
        }
        finally
        {
            RpcContext.Current = null;
            CancelLeftovers(cts);
        }

        if (response is null)
        {
            _logger.ProcedureReturnedNull(_procedure, correlationId);
            await RpcProblem.WriteAsync(
                http, StatusCodes.Status500InternalServerError, RpcFailureCodes.InternalError, $"The procedure '{_procedure}' returned no response.", correlationId)
                .ConfigureAwait(false);
            return RpcFailureCodes.InternalError;
        }

        http.Response.StatusCode = StatusCodes.Status200OK;
        await http.Response.WriteAsJsonAsync(response, _responseType, "application/json; charset=utf-8", http.RequestAborted).ConfigureAwait(false);
        return null;
    }

    private static Task TooLargeAsync(HttpContext http, long limit, string correlationId) =>
        RpcProblem.WriteAsync(
            http,
            StatusCodes.Status413PayloadTooLarge,
            RpcFailureCodes.PayloadTooLarge,
            $"The request body is larger than the limit of {limit.ToString(CultureInfo.InvariantCulture)} bytes.",
            correlationId);

    /// <summary>
    /// Work for this call still running in a flow (an answer the caller no longer waits for) stops too. What its
    /// cancellation callbacks throw is theirs: it must not replace the answer being sent.
    /// </summary>
    private static void CancelLeftovers(CancellationTokenSource cts)
    {
        try
        {
            cts.Cancel();
        }
        catch (AggregateException)
        {
            // a callback registered by abandoned work failed; nothing waits for that work
        }
    }

    /// <summary>Answers a call given up on; the outcome (<see cref="RpcGiveUp.Outcome"/>).</summary>
    private static async Task<string> GaveUpAsync(HttpContext http, string correlationId, DateTimeOffset? deadline, TimeSpan window)
    {
        if (http.RequestAborted.IsCancellationRequested)
        {
            // The caller is gone (cancelled, timed out or disconnected): nobody reads an answer.
            return RpcGiveUp.Outcome(aborted: true, DateTimeOffset.UtcNow, deadline, window);
        }

        await RpcProblem.WriteAsync(
            http, StatusCodes.Status504GatewayTimeout, RpcFailureCodes.DeadlineExceeded, "The caller's deadline passed before the procedure finished.", correlationId)
            .ConfigureAwait(false);
        return RpcFailureCodes.DeadlineExceeded;
    }

    private static string? MemberOf(JsonException e)
    {
        const string Missing = "missing required properties including: ";
        var at = e.Message.IndexOf(Missing, StringComparison.Ordinal);
        if (at >= 0)
        {
            return e.Message[(at + Missing.Length)..].TrimEnd('.').Replace("'", string.Empty, StringComparison.Ordinal);
        }

        return string.IsNullOrEmpty(e.Path) || e.Path == "$" ? null : e.Path;
    }

    private static string Describe(JsonException e)
    {
        // System.Text.Json names the missing members ("...missing required properties including: 'pnr'") and gives
        // the JSON path of a malformed value; both are about the caller's JSON, not about the server's internals.
        var message = e.Message;
        return string.IsNullOrEmpty(e.Path) || message.Contains("Path:", StringComparison.Ordinal)
            ? $"The request body is not valid: {message}"
            : $"The request body is not valid at {e.Path}: {message}";
    }
}
