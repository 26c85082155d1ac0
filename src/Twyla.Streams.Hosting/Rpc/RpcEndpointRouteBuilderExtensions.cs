using System.Diagnostics;
using System.Runtime.CompilerServices;
using Akka;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>
/// Serves procedures on Kestrel: <c>POST /rpc/{procedure}</c> with a JSON body, answered with the JSON response or
/// an RFC 9457 problem (<c>application/problem+json</c> with a <c>code</c>). The first mapped procedure also maps
/// <c>/rpc/{**rest}</c> to a 404 problem with code <c>unknown_procedure</c>.
/// </summary>
/// <remarks>
/// <para>Every procedure describes itself to ASP.NET Core's OpenAPI document (<c>builder.Services.AddOpenApi()</c> and
/// <c>app.MapOpenApi()</c>): <c>POST /rpc/{procedure}</c> with its request body, its 200 response and its
/// <c>application/problem+json</c> failures, the schemas being those of <see cref="Contracts.ContractSchema"/> under the
/// procedure's JSON options (<see cref="RpcServerOptions.JsonOptions"/>).</para>
/// <para>A served procedure honours the caller's <c>Twyla-Deadline-Ms</c> header (the handler's token is cancelled when
/// it passes, and when the caller disconnects), answers 400 (<c>invalid_request</c>, naming the member) to a malformed
/// body or a missing required member, 413 (<c>payload_too_large</c>) to a body over
/// <see cref="RpcServerOptions.MaxRequestBodyBytes"/>, and 500 (<c>internal_error</c>, no stack trace) when the handler
/// throws; a handler throws <see cref="RpcException"/> to answer with a problem of its own. The handler sees the
/// caller's correlation id and deadline in <see cref="RpcContext.Current"/>.</para>
/// <para>F#: <c>app.MapRpc("get_booking", fun (req: GetBooking) ct -&gt; task { return! lookup req ct }) |&gt; ignore</c>.</para>
/// </remarks>
public static class RpcEndpointRouteBuilderExtensions
{
    private static readonly ConditionalWeakTable<IEndpointRouteBuilder, object> FallbackMapped = [];

    /// <summary>Serves <paramref name="procedure"/> with a handler delegate.</summary>
    /// <typeparam name="TRequest">The request type, read from the JSON body (required members enforced).</typeparam>
    /// <typeparam name="TResponse">The response type, written as the JSON body.</typeparam>
    /// <param name="endpoints">The application or a route group.</param>
    /// <param name="procedure">The procedure name without the service, e.g. <c>get_booking</c>.</param>
    /// <param name="handler">Answers one request; its token is cancelled at the caller's deadline or disconnect.</param>
    /// <returns>The endpoint's convention builder (for authorization, metadata).</returns>
    /// <exception cref="ArgumentException">The name breaks the rules of <see cref="RpcProcedureName"/>.</exception>
    public static IEndpointConventionBuilder MapRpc<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints, string procedure, Func<TRequest, CancellationToken, Task<TResponse>> handler)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(handler);
        RpcProcedureName.ValidateProcedure(procedure, nameof(procedure));
        var endpoint = new RpcEndpoint<TRequest, TResponse>(procedure, handler, endpoints.ServiceProvider);
        return Map<TRequest, TResponse>(endpoints, procedure, endpoint.HandleAsync, endpoint.Options);
    }

    /// <summary>
    /// Serves <paramref name="procedure"/> with a flow: the requests of all concurrent callers go through one
    /// materialization of <paramref name="flow"/> (on the <see cref="Akka.Actor.ActorSystem"/> registered in the
    /// services, e.g. by Akka.Hosting), behind a buffer of <see cref="RpcServerOptions.FlowBufferSize"/> requests.
    /// Each request enters the flow with its caller's <see cref="RpcContext"/> as the element's context, and the caller
    /// gets the answer that leaves the flow with that context: the flow may reorder (a <c>Via</c> with
    /// <c>SelectAsyncUnordered</c>), and no caller ever gets another caller's answer.
    /// </summary>
    /// <remarks>
    /// <para>A request the flow drops (<c>Where</c>, <c>Collect</c>) is answered 500 <c>no_answer</c> once
    /// <see cref="RpcServerOptions.FlowAnswerTimeout"/> passes (default 30 s); the caller's deadline, when shorter, ends
    /// the wait first with 504. When the flow emits several answers with one context, the first one is sent. A caller
    /// whose deadline passes gets 504; its element still runs through the flow and its answer is discarded. When the
    /// flow fails, the callers in flight get 500 and the next request materializes it again.</para>
    /// <para>The flow's stages run on the stream's actors, outside the request's async context: build the stages that log,
    /// call other procedures or should stop at the caller's deadline with
    /// <see cref="RpcFlowExtensions.SelectAsyncInCallContext{TIn, TOut, TNext, TMat}(FlowWithContext{TIn, RpcContext, TOut, RpcContext, TMat}, int, Func{TOut, CancellationToken, Task{TNext}})"/>,
    /// which runs them in the call (log scope, <see cref="RpcContext.Current"/>, span, token).</para>
    /// <para>C#: <c>app.MapRpcFlow("price", FlowWithContext.Create&lt;PriceRequest, RpcContext&gt;().SelectAsyncInCallContext(8, pricing.QuoteAsync))</c>.
    /// F#: <c>app.MapRpcFlow("upper", FlowWithContext.Create&lt;Echo, RpcContext&gt;().Select(fun e -&gt; upper e)) |&gt; ignore</c>.</para>
    /// </remarks>
    /// <typeparam name="TRequest">The request type, read from the JSON body (required members enforced).</typeparam>
    /// <typeparam name="TResponse">The response type, written as the JSON body.</typeparam>
    /// <param name="endpoints">The application or a route group.</param>
    /// <param name="procedure">The procedure name without the service, e.g. <c>get_booking</c>.</param>
    /// <param name="flow">The flow answering requests; each answer carries the context of the request it answers.</param>
    /// <returns>The endpoint's convention builder.</returns>
    /// <exception cref="ArgumentException">The name breaks the rules of <see cref="RpcProcedureName"/>.</exception>
    public static IEndpointConventionBuilder MapRpcFlow<TRequest, TResponse>(
        this IEndpointRouteBuilder endpoints,
        string procedure,
        FlowWithContext<TRequest, RpcContext, TResponse, RpcContext, NotUsed> flow)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentNullException.ThrowIfNull(flow);
        RpcProcedureName.ValidateProcedure(procedure, nameof(procedure));
        RpcFlowRunner<TRequest, TResponse>? runner = null;
        var services = endpoints.ServiceProvider;
        var callLogger = services.GetService<ILoggerFactory>()?.CreateLogger("Twyla.Streams.Hosting.Rpc") ?? NullLogger.Instance;
        var endpoint = new RpcEndpoint<TRequest, TResponse>(
            procedure,
            (request, token) =>
            {
                var context = RpcContext.Current!; // the endpoint sets the call's context before the handler
                // The flow's stages run outside this async context: SelectAsyncInCallContext re-enters the call through its context.
                RpcCallScope.Attach(context, new RpcCallScope(callLogger, Activity.Current, token));
                return runner!.InvokeAsync(request, context, token);
            },
            services);
        runner = new RpcFlowRunner<TRequest, TResponse>(procedure, flow, endpoint.Options, services);
        return Map<TRequest, TResponse>(endpoints, procedure, endpoint.HandleAsync, endpoint.Options);
    }

    private static IEndpointConventionBuilder Map<TRequest, TResponse>(
        IEndpointRouteBuilder endpoints, string procedure, RequestDelegate handle, RpcServerOptions options)
    {
        if (FallbackMapped.TryAdd(endpoints, new object()))
        {
            endpoints.Map(RpcHeaders.PathPrefix + "{**rest}", UnknownProcedureAsync).WithDisplayName("RPC unknown procedure");
        }

        var metadata = new RpcProcedureMetadata(procedure, typeof(TRequest), typeof(TResponse), options.EffectiveJsonOptions);
        return endpoints.MapPost(RpcHeaders.PathPrefix + procedure, handle)
            .WithDisplayName("RPC " + procedure)
            .WithMetadata(handle.Method, metadata) // ApiExplorer (hence OpenAPI) lists endpoints that name their method
            .WithDescribedProcedure(metadata);
    }

    internal static Task UnknownProcedureAsync(HttpContext http)
    {
        var procedure = http.Request.RouteValues["rest"] as string ?? string.Empty;
        var correlationId = http.Request.Headers[RpcHeaders.CorrelationId].ToString();
        if (!HttpMethods.IsPost(http.Request.Method))
        {
            http.Response.Headers.Allow = "POST";
            return RpcProblem.WriteAsync(
                http,
                StatusCodes.Status405MethodNotAllowed,
                RpcFailureCodes.MethodNotAllowed,
                $"Procedures are called with POST {RpcHeaders.PathPrefix}{{procedure}}, not {http.Request.Method}.",
                correlationId);
        }

        return RpcProblem.WriteAsync(
            http,
            StatusCodes.Status404NotFound,
            RpcFailureCodes.UnknownProcedure,
            $"No procedure '{procedure}' is served here (procedures are called with POST {RpcHeaders.PathPrefix}{{procedure}}).",
            correlationId);
    }
}
