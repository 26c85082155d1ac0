using System.Collections.Concurrent;
using System.Text.Json;
using Akka;
using Akka.Streams.Dsl;

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

    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly RpcCalls _calls;

    // CallAsync's targets by procedure name: parsing the name and resolving the service depend only on the name and
    // the immutable settings, so they are done once per name, not once per call.
    private readonly ConcurrentDictionary<string, RpcTarget> _targets = new(StringComparer.Ordinal);

    /// <summary>A client with its own <see cref="HttpClient"/>, disposed with the client.</summary>
    /// <param name="settings">The settings.</param>
    public RpcClient(RpcClientSettings settings)
        : this(RpcHttpSender.CreateHttpClient(), settings, ownsHttp: true)
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
        _calls = new RpcCalls(settings, new RpcHttpSender(httpClient), new RpcResilience(settings));
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

    /// <summary>Calls <paramref name="procedure"/> once with the client's default call settings and no cancellation.</summary>
    /// <typeparam name="TRequest">The request type, serialized as the JSON body.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">A qualified name <c>service.procedure</c>.</param>
    /// <param name="request">The request (not null).</param>
    /// <returns>The result; the task never faults for a failed call.</returns>
    /// <exception cref="ArgumentException">The name breaks the rules of <see cref="RpcProcedureName"/>.</exception>
    public Task<RpcResult<TResponse>> CallAsync<TRequest, TResponse>(string procedure, TRequest request) =>
        CallAsync<TRequest, TResponse>(procedure, request, Settings.CallDefaults, CancellationToken.None);

    /// <summary>
    /// Calls a typed <paramref name="procedure"/> once with the client's default call settings and no cancellation;
    /// the request and response types come from the procedure, so none are written (F#: <c>rpc.CallAsync(getBooking, request)</c>).
    /// </summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">The procedure, from <see cref="RpcProcedure.Create{TRequest, TResponse}"/>.</param>
    /// <param name="request">The request (not null).</param>
    /// <returns>The result; the task never faults for a failed call.</returns>
    public Task<RpcResult<TResponse>> CallAsync<TRequest, TResponse>(RpcProcedure<TRequest, TResponse> procedure, TRequest request) =>
        CallAsync(procedure, request, Settings.CallDefaults, CancellationToken.None);

    /// <summary>Calls a typed <paramref name="procedure"/> once with the client's default call settings.</summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">The procedure, from <see cref="RpcProcedure.Create{TRequest, TResponse}"/>.</param>
    /// <param name="request">The request (not null).</param>
    /// <param name="cancellationToken">Cancels the call; it then ends as a Failure with code <see cref="RpcFailureCodes.Cancelled"/>.</param>
    /// <returns>The result; the task never faults for a failed call.</returns>
    public Task<RpcResult<TResponse>> CallAsync<TRequest, TResponse>(
        RpcProcedure<TRequest, TResponse> procedure, TRequest request, CancellationToken cancellationToken) =>
        CallAsync(procedure, request, Settings.CallDefaults, cancellationToken);

    /// <summary>
    /// Calls a typed <paramref name="procedure"/> once (see
    /// <see cref="CallAsync{TRequest, TResponse}(string, TRequest, RpcCallSettings, CancellationToken)"/>).
    /// </summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">The procedure, from <see cref="RpcProcedure.Create{TRequest, TResponse}"/>.</param>
    /// <param name="request">The request (not null).</param>
    /// <param name="settings">Timeout, retries and correlation id of the call.</param>
    /// <param name="cancellationToken">Cancels the call; it then ends as a Failure with code <see cref="RpcFailureCodes.Cancelled"/>.</param>
    /// <returns>The result; the task never faults for a failed call.</returns>
    public Task<RpcResult<TResponse>> CallAsync<TRequest, TResponse>(
        RpcProcedure<TRequest, TResponse> procedure, TRequest request, RpcCallSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(procedure);
        return CallAsync<TRequest, TResponse>(procedure.Name, request, settings, cancellationToken);
    }

    /// <summary>A flow that calls a typed <paramref name="procedure"/> for every request with the client's default call settings.</summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">The procedure, from <see cref="RpcProcedure.Create{TRequest, TResponse}"/>.</param>
    /// <returns>The flow; see <see cref="Flow{TRequest,TResponse}(string,RpcCallSettings)"/>.</returns>
    public Flow<TRequest, RpcResult<TResponse>, NotUsed> Flow<TRequest, TResponse>(RpcProcedure<TRequest, TResponse> procedure) =>
        Flow(procedure, Settings.CallDefaults);

    /// <summary>A flow that calls a typed <paramref name="procedure"/> for every request (see <see cref="Flow{TRequest,TResponse}(string,RpcCallSettings)"/>).</summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">The procedure, from <see cref="RpcProcedure.Create{TRequest, TResponse}"/>.</param>
    /// <param name="settings">Timeout, parallelism, retries and correlation id of the calls.</param>
    /// <returns>The flow; its materialized value is <see cref="NotUsed"/>.</returns>
    public Flow<TRequest, RpcResult<TResponse>, NotUsed> Flow<TRequest, TResponse>(RpcProcedure<TRequest, TResponse> procedure, RpcCallSettings settings)
    {
        ArgumentNullException.ThrowIfNull(procedure);
        return Flow<TRequest, TResponse>(procedure.Name, settings);
    }

    /// <summary>Disposes the <see cref="HttpClient"/> when the client created it.</summary>
    public void Dispose()
    {
        if (_ownsHttp)
        {
            _http.Dispose();
        }
    }

    private RpcTarget CreateTarget(string procedure, string parameterName) => _calls.CreateTarget(procedure, parameterName);

    private Task<RpcResult<TResponse>> InvokeAsync<TRequest, TResponse>(
        RpcTarget target, TRequest request, RpcCallSettings settings, RpcContext? ambient, CancellationToken cancellationToken, string? correlationId = null) =>
        _calls.InvokeAsync<TRequest, TResponse>(target, request, settings, ambient, cancellationToken, correlationId);
}
