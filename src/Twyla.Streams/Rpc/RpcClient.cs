using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Akka;
using Akka.Streams.Dsl;
using Polly;
using Polly.CircuitBreaker;

namespace Twyla.Streams.Rpc;

/// <summary>
/// Calls procedures of other services over HTTP (<c>POST {base}/rpc/{procedure}</c>, JSON bodies) as Akka.NET
/// Streams flows or one-off tasks. Every call ends in exactly one <see cref="RpcResult{T}"/>: nothing throws for a
/// failed call. Thread-safe; create one per application and dispose it at shutdown.
/// </summary>
/// <remarks>
/// The client owns a circuit breaker per service, sends the correlation id (<see cref="RpcHeaders.CorrelationId"/>),
/// the remaining deadline (<see cref="RpcHeaders.DeadlineMs"/>) and the W3C trace context with every call, and traces
/// calls with the <see cref="System.Diagnostics.ActivitySource"/> named <see cref="ActivitySourceName"/>. Untyped calls
/// use <see cref="JsonElement"/> as request and response type.
/// </remarks>
public sealed class RpcClient : IDisposable
{
    /// <summary>The name of the <see cref="System.Diagnostics.ActivitySource"/> that traces calls.</summary>
    public const string ActivitySourceName = "Twyla.Streams.Rpc";

    private static readonly ActivitySource Source = new(ActivitySourceName);

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly ConcurrentDictionary<string, ResiliencePipeline<AttemptResult>> _breakers = new(StringComparer.Ordinal);

    // CallAsync's targets by procedure name: parsing the name and resolving the service depend only on the name and
    // the immutable settings, so they are done once per name, not once per call.
    private readonly ConcurrentDictionary<string, Target> _targets = new(StringComparer.Ordinal);

    /// <summary>A client with its own <see cref="HttpClient"/>, disposed with the client.</summary>
    /// <param name="settings">The settings.</param>
    public RpcClient(RpcClientSettings settings)
        : this(CreateHttpClient(), settings, ownsHttp: true)
    {
    }

    /// <summary>
    /// A client that borrows <paramref name="httpClient"/> (not disposed with the client). Its
    /// <see cref="HttpClient.Timeout"/> should be at least the longest call timeout.
    /// </summary>
    /// <param name="httpClient">The HTTP client to send with.</param>
    /// <param name="settings">The settings.</param>
    public RpcClient(HttpClient httpClient, RpcClientSettings settings)
        : this(httpClient, settings, ownsHttp: false)
    {
    }

    private RpcClient(HttpClient httpClient, RpcClientSettings settings, bool ownsHttp)
    {
        ArgumentNullException.ThrowIfNull(httpClient);
        ArgumentNullException.ThrowIfNull(settings);
        _http = httpClient;
        _ownsHttp = ownsHttp;
        Settings = settings;
    }

    /// <summary>The client's settings.</summary>
    public RpcClientSettings Settings { get; }

    /// <summary>
    /// A flow that calls <paramref name="procedure"/> for every request with the client's default call settings.
    /// </summary>
    /// <typeparam name="TRequest">The request type, serialized as the JSON body.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">A qualified name <c>service.procedure</c>, e.g. <c>navitaire-api.get_booking</c>.</param>
    /// <returns>The flow; see <see cref="Flow{TRequest,TResponse}(string,RpcCallSettings)"/>.</returns>
    /// <exception cref="ArgumentException">The name breaks the rules of <see cref="RpcProcedureName"/>.</exception>
    public Flow<TRequest, RpcResult<TResponse>, NotUsed> Flow<TRequest, TResponse>(string procedure) =>
        Flow<TRequest, TResponse>(procedure, Settings.CallDefaults);

    /// <summary>
    /// A flow that calls <paramref name="procedure"/> for every request, with up to
    /// <see cref="RpcCallSettings.Parallelism"/> calls in flight, and emits one result per request, in request order.
    /// A failed call is a <see cref="RpcResult{T}.Failure"/> or <see cref="RpcResult{T}.Timeout"/> element, never a
    /// stream failure.
    /// <para><b>Emits when</b> the result of the oldest request in flight is known.</para>
    /// <para><b>Backpressures when</b> <see cref="RpcCallSettings.Parallelism"/> calls are in flight, or downstream backpressures.</para>
    /// <para><b>Completes when</b> upstream completes and every call in flight has its result emitted.</para>
    /// <para><b>Cancels when</b> downstream cancels.</para>
    /// <para><b>Fails when</b> upstream fails (a failed call never fails the flow).</para>
    /// </summary>
    /// <typeparam name="TRequest">The request type, serialized as the JSON body.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">A qualified name <c>service.procedure</c>, e.g. <c>navitaire-api.get_booking</c>.</param>
    /// <param name="settings">Timeout, parallelism, retries and correlation id of the calls.</param>
    /// <returns>The flow; its materialized value is <see cref="NotUsed"/>.</returns>
    /// <exception cref="ArgumentException">The name breaks the rules of <see cref="RpcProcedureName"/>.</exception>
    public Flow<TRequest, RpcResult<TResponse>, NotUsed> Flow<TRequest, TResponse>(string procedure, RpcCallSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var target = CreateTarget(procedure, nameof(procedure));
        return Akka.Streams.Dsl.Flow.Create<TRequest>()
            .SelectAsync(settings.Parallelism, request => InvokeAsync<TRequest, TResponse>(target, request, settings, ambient: null, CancellationToken.None))
            .Named("rpc-" + procedure);
    }

    /// <summary>
    /// Like <see cref="Flow{TRequest,TResponse}(string,RpcCallSettings)"/>, but every request travels with a context
    /// (for example the <c>Event&lt;T&gt;</c> it came from, to settle it after the call) that is emitted beside its result
    /// and gives the call's correlation id.
    /// <para><b>Emits when</b> the result of the oldest request in flight is known.</para>
    /// <para><b>Backpressures when</b> <see cref="RpcCallSettings.Parallelism"/> calls are in flight, or downstream backpressures.</para>
    /// <para><b>Completes when</b> upstream completes and every call in flight has its result emitted.</para>
    /// <para><b>Cancels when</b> downstream cancels.</para>
    /// <para><b>Fails when</b> upstream fails (a failed call never fails the flow).</para>
    /// </summary>
    /// <typeparam name="TRequest">The request type, serialized as the JSON body.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <typeparam name="TContext">The context carried beside each request and result.</typeparam>
    /// <param name="procedure">A qualified name <c>service.procedure</c>.</param>
    /// <param name="correlationId">
    /// The correlation id of a request's call, from its context (e.g. the event's correlation id); an empty string (or
    /// one that cannot travel in a header) falls back to <see cref="RpcCallSettings.CorrelationId"/>, then to a new id.
    /// </param>
    /// <param name="settings">Timeout, parallelism and retries of the calls.</param>
    /// <returns>The flow with context; its materialized value is <see cref="NotUsed"/>.</returns>
    /// <exception cref="ArgumentException">The name breaks the rules of <see cref="RpcProcedureName"/>.</exception>
    public FlowWithContext<TRequest, TContext, RpcResult<TResponse>, TContext, NotUsed> FlowWithContext<TRequest, TResponse, TContext>(
        string procedure, Func<TContext, string> correlationId, RpcCallSettings settings)
    {
        ArgumentNullException.ThrowIfNull(correlationId);
        ArgumentNullException.ThrowIfNull(settings);
        var target = CreateTarget(procedure, nameof(procedure));
        var flow = Akka.Streams.Dsl.Flow.Create<(TRequest, TContext)>()
            .SelectAsync(settings.Parallelism, async pair =>
            {
                var id = correlationId(pair.Item2);
                var result = await InvokeAsync<TRequest, TResponse>(
                    target, pair.Item1, settings, ambient: null, CancellationToken.None, RpcCallSettings.IsValidCorrelationId(id) ? id : null)
                    .ConfigureAwait(false);
                return (result, pair.Item2);
            })
            .Named("rpc-" + procedure);
        return Akka.Streams.Dsl.FlowWithContext.From(flow);
    }

    /// <summary>Calls <paramref name="procedure"/> once with the client's default call settings.</summary>
    /// <typeparam name="TRequest">The request type, serialized as the JSON body.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">A qualified name <c>service.procedure</c>.</param>
    /// <param name="request">The request (not null).</param>
    /// <param name="cancellationToken">Cancels the call; it then ends as a Failure with code <see cref="RpcFailureCodes.Cancelled"/>.</param>
    /// <returns>The result; the task never faults for a failed call.</returns>
    /// <exception cref="ArgumentException">The name breaks the rules of <see cref="RpcProcedureName"/>.</exception>
    public Task<RpcResult<TResponse>> CallAsync<TRequest, TResponse>(string procedure, TRequest request, CancellationToken cancellationToken) =>
        CallAsync<TRequest, TResponse>(procedure, request, Settings.CallDefaults, cancellationToken);

    /// <summary>
    /// Calls <paramref name="procedure"/> once. Inside a handler served by Twyla, the ambient
    /// <see cref="RpcContext.Current"/> gives the correlation id (unless the settings name one) and caps the timeout
    /// at the caller's deadline.
    /// </summary>
    /// <typeparam name="TRequest">The request type, serialized as the JSON body.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">A qualified name <c>service.procedure</c>.</param>
    /// <param name="request">The request (not null).</param>
    /// <param name="settings">Timeout, retries and correlation id of the call.</param>
    /// <param name="cancellationToken">Cancels the call; it then ends as a Failure with code <see cref="RpcFailureCodes.Cancelled"/>.</param>
    /// <returns>The result; the task never faults for a failed call.</returns>
    /// <exception cref="ArgumentException">The name breaks the rules of <see cref="RpcProcedureName"/>.</exception>
    public Task<RpcResult<TResponse>> CallAsync<TRequest, TResponse>(
        string procedure, TRequest request, RpcCallSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var target = procedure is null
            ? CreateTarget(procedure!, nameof(procedure)) // throws as for any invalid name
            : _targets.GetOrAdd(procedure, static (p, client) => client.CreateTarget(p, nameof(procedure)), this);
        return InvokeAsync<TRequest, TResponse>(target, request, settings, RpcContext.Current, cancellationToken);
    }

    /// <summary>Disposes the <see cref="HttpClient"/> when the client created it.</summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private static HttpClient CreateHttpClient() =>
        new(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            AllowAutoRedirect = false,
            UseCookies = false,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    private Target CreateTarget(string procedure, string parameterName)
    {
        var (service, name) = RpcProcedureName.Parse(procedure, parameterName);
        var baseUri = Settings.Resolve(service);
        var endpoint = baseUri is null ? null : new Uri(baseUri.AbsoluteUri.TrimEnd('/') + RpcHeaders.PathPrefix + name, UriKind.Absolute);
        var breaker = Settings.CircuitBreakerEnabled && endpoint is not null ? _breakers.GetOrAdd(service, CreateBreaker) : null;
        return new Target(procedure, service, endpoint, breaker);
    }

    private ResiliencePipeline<AttemptResult> CreateBreaker(string service) =>
        new ResiliencePipelineBuilder<AttemptResult>()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<AttemptResult>
            {
                Name = "twyla-rpc-" + service,
                FailureRatio = Settings.CircuitBreakerFailureRatio,
                MinimumThroughput = Settings.CircuitBreakerMinimumThroughput,
                SamplingDuration = Settings.CircuitBreakerSamplingDuration,
                BreakDuration = Settings.CircuitBreakerBreakDuration,
                ShouldHandle = static args => new ValueTask<bool>(args.Outcome.Result?.CountsAsFailure ?? args.Outcome.Exception is not null),
            })
            .Build();

    private async Task<RpcResult<TResponse>> InvokeAsync<TRequest, TResponse>(
        Target target, TRequest request, RpcCallSettings settings, RpcContext? ambient, CancellationToken cancellationToken, string? correlationId = null)
    {
        try
        {
            return await InvokeCoreAsync<TRequest, TResponse>(target, request, settings, ambient, cancellationToken, correlationId).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the contract: a failed call is a Failure, never an exception out of the flow
        catch (Exception e)
#pragma warning restore CA1031
        {
            return new RpcResult<TResponse>.Failure(RpcFailureCodes.TransportError, $"Calling '{target.Procedure}' failed: {e.Message}", 0);
        }
    }

    private async Task<RpcResult<TResponse>> InvokeCoreAsync<TRequest, TResponse>(
        Target target, TRequest request, RpcCallSettings settings, RpcContext? ambient, CancellationToken cancellationToken, string? explicitCorrelationId)
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

        using var activity = Source.HasListeners() ? StartActivity(target) : null;
        var parent = activity ?? Activity.Current;
        var traceParent = parent is { IdFormat: ActivityIdFormat.W3C } ? parent.Id : null;
        var traceState = parent?.TraceStateString;

        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        var call = new CallState(this, target, body, correlationId, traceParent, traceState, start, timeout, cts.Token);

        var attempt = 0;
        while (true)
        {
            attempt++;
            var result = await AttemptAsync(call).ConfigureAwait(false);

            switch (result.Kind)
            {
                case AttemptKind.Ok:
                    activity?.SetStatus(ActivityStatusCode.Ok);
                    return Deserialize<TResponse>(result);
                case AttemptKind.TimedOut:
                    activity?.SetStatus(ActivityStatusCode.Error, "timeout");
                    return cancellationToken.IsCancellationRequested
                        ? new RpcResult<TResponse>.Failure(RpcFailureCodes.Cancelled, "The caller cancelled the call.", 0)
                        : new RpcResult<TResponse>.Timeout(Stopwatch.GetElapsedTime(start));
            }

            if (settings.Idempotent && result.Transient && attempt < settings.MaxAttempts)
            {
                var delay = Backoff(settings, attempt);
                if (Stopwatch.GetElapsedTime(start) + delay < timeout)
                {
                    try
                    {
                        await Task.Delay(delay, cts.Token).ConfigureAwait(false);
                        continue;
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        return new RpcResult<TResponse>.Failure(RpcFailureCodes.Cancelled, "The caller cancelled the call.", 0);
                    }
                    catch (OperationCanceledException)
                    {
                        return new RpcResult<TResponse>.Timeout(Stopwatch.GetElapsedTime(start));
                    }
                }
            }

            activity?.SetStatus(ActivityStatusCode.Error, result.Code);
            return new RpcResult<TResponse>.Failure(result.Code, result.Message, result.Status);
        }
    }

    private static Activity? StartActivity(Target target)
    {
        var activity = Source.StartActivity("rpc " + target.Procedure, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.system", "twyla");
            activity.SetTag("rpc.service", target.Service);
            activity.SetTag("rpc.method", target.Procedure);
            activity.SetTag("url.full", target.Endpoint!.AbsoluteUri);
        }

        return activity;
    }

    private static TimeSpan Backoff(RpcCallSettings settings, int retry)
    {
        var exponential = settings.BackoffBase.TotalMilliseconds * Math.Pow(2, retry - 1);
        var capped = Math.Min(exponential, settings.BackoffMax.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.5 + Random.Shared.NextDouble() * 0.5)); // jitter: 50-100 %
    }

    private RpcResult<TResponse> Deserialize<TResponse>(AttemptResult result)
    {
        try
        {
            var value = JsonSerializer.Deserialize<TResponse>(result.Body, Settings.JsonOptions);
            return value is null
                ? new RpcResult<TResponse>.Failure(RpcFailureCodes.DeserializationError, $"The response was JSON null, not a {typeof(TResponse).Name}.", result.Status)
                : new RpcResult<TResponse>.Success(value);
        }
        catch (Exception e) when (e is JsonException or NotSupportedException or InvalidOperationException)
        {
            return new RpcResult<TResponse>.Failure(RpcFailureCodes.DeserializationError, $"The response could not be read as {typeof(TResponse).Name}: {e.Message}", result.Status);
        }
    }

    private static async Task<AttemptResult> AttemptAsync(CallState call)
    {
        if (call.Target.Breaker is not { } breaker)
        {
            return await SendAsync(call).ConfigureAwait(false);
        }

        var context = ResilienceContextPool.Shared.Get(call.Token);
        try
        {
            var outcome = await breaker.ExecuteOutcomeAsync(
                static async (_, state) => Outcome.FromResult(await SendAsync(state).ConfigureAwait(false)),
                context,
                call).ConfigureAwait(false);
            return outcome.Exception switch
            {
                null => outcome.Result!,
                BrokenCircuitException e => AttemptResult.Error(
                    RpcFailureCodes.CircuitOpen,
                    $"The circuit of service '{call.Target.Service}' is open after repeated failures; retry after {e.RetryAfter?.TotalMilliseconds ?? 0:F0} ms.",
                    0,
                    transient: false),
                OperationCanceledException => AttemptResult.TimedOut,
                var e => AttemptResult.Error(RpcFailureCodes.TransportError, e.Message, 0, transient: true),
            };
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static async Task<AttemptResult> SendAsync(CallState call)
    {
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, call.Target.Endpoint) { Content = new ByteArrayContent(call.Body) };
            message.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
            var headers = message.Headers;
            headers.TryAddWithoutValidation(RpcHeaders.CorrelationId, call.CorrelationId);
            // rounded up, so the server never gives up before the client does
            var remaining = call.Timeout - Stopwatch.GetElapsedTime(call.Start);
            headers.TryAddWithoutValidation(RpcHeaders.DeadlineMs, Math.Max(1, (long)Math.Ceiling(remaining.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture));
            if (call.TraceParent is not null)
            {
                headers.TryAddWithoutValidation(RpcHeaders.TraceParent, call.TraceParent);
                if (!string.IsNullOrEmpty(call.TraceState))
                {
                    headers.TryAddWithoutValidation(RpcHeaders.TraceState, call.TraceState);
                }
            }

            using var response = await call.Client._http.SendAsync(message, call.Token).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(call.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode
                ? AttemptResult.Ok(bytes, (int)response.StatusCode)
                : MapErrorResponse(response, bytes);
        }
        catch (OperationCanceledException) when (call.Token.IsCancellationRequested)
        {
            return AttemptResult.TimedOut;
        }
        catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
        {
            return AttemptResult.TimedOut; // a borrowed HttpClient's own Timeout
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
        {
            return AttemptResult.Error(
                RpcFailureCodes.ConnectionRefused,
                $"Connection refused by {call.Target.Endpoint!.Authority} (service '{call.Target.Service}').",
                0,
                transient: true);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            return AttemptResult.Error(RpcFailureCodes.TransportError, $"Calling '{call.Target.Procedure}' failed: {e.Message}", 0, transient: true);
        }
    }

    private static AttemptResult MapErrorResponse(HttpResponseMessage response, byte[] body)
    {
        var status = (int)response.StatusCode;
        var transient = status is >= 500 and not 501 and not 505 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
        var code = status switch
        {
            400 => RpcFailureCodes.BadRequest,
            404 => RpcFailureCodes.NotFound,
            413 => RpcFailureCodes.PayloadTooLarge,
            >= 500 => RpcFailureCodes.ServerError,
            _ => RpcFailureCodes.HttpError,
        };
        var message = $"HTTP {status} {response.ReasonPhrase}".TrimEnd();
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (body.Length > 0 && mediaType is not null && mediaType.EndsWith("json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                using var problem = JsonDocument.Parse(body);
                if (problem.RootElement.ValueKind == JsonValueKind.Object)
                {
                    if (problem.RootElement.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String && c.GetString() is { Length: > 0 } problemCode)
                    {
                        code = problemCode;
                    }

                    if (problem.RootElement.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String)
                    {
                        message = d.GetString()!;
                    }
                    else if (problem.RootElement.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String)
                    {
                        message = t.GetString()!;
                    }
                }
            }
            catch (JsonException)
            {
                // not a problem document: keep the status-based code
            }
        }

        return code == RpcFailureCodes.DeadlineExceeded
            ? AttemptResult.TimedOut // the server saw our deadline pass before our own timer fired
            : AttemptResult.Error(code, message, status, transient);
    }

    private sealed record Target(string Procedure, string Service, Uri? Endpoint, ResiliencePipeline<AttemptResult>? Breaker);

    private sealed record CallState(
        RpcClient Client,
        Target Target,
        byte[] Body,
        string CorrelationId,
        string? TraceParent,
        string? TraceState,
        long Start,
        TimeSpan Timeout,
        CancellationToken Token);

    private enum AttemptKind
    {
        Ok,
        Error,
        TimedOut,
    }

    private sealed class AttemptResult
    {
        public static readonly AttemptResult TimedOut = new(AttemptKind.TimedOut, [], 0, string.Empty, string.Empty, false);

        private AttemptResult(AttemptKind kind, byte[] body, int status, string code, string message, bool transient)
        {
            Kind = kind;
            Body = body;
            Status = status;
            Code = code;
            Message = message;
            Transient = transient;
        }

        public AttemptKind Kind { get; }

        public byte[] Body { get; }

        public int Status { get; }

        public string Code { get; }

        public string Message { get; }

        public bool Transient { get; }

        /// <summary>Whether the circuit breaker counts it: timeouts and transient errors, not the caller's own mistakes.</summary>
        public bool CountsAsFailure => Kind == AttemptKind.TimedOut || (Kind == AttemptKind.Error && Transient);

        public static AttemptResult Ok(byte[] body, int status) => new(AttemptKind.Ok, body, status, string.Empty, string.Empty, false);

        public static AttemptResult Error(string code, string message, int status, bool transient) =>
            new(AttemptKind.Error, [], status, code, message, transient);
    }
}
