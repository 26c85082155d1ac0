using System.Diagnostics;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting.Diagnostics;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>
/// What the code serving one call runs in, wherever it runs: <see cref="RpcContext.Current"/> (so an
/// <see cref="RpcClient"/> call from it passes the correlation id and deadline on), the server span as
/// <see cref="Activity.Current"/> (so its spans are children of the call's), the log scope with <c>Procedure</c> and
/// <c>CorrelationId</c>, and the call's cancellation token (the caller's deadline or disconnect, or the call answered).
/// </summary>
/// <remarks>
/// A handler delegate runs in the request's async context and gets all this directly. A flow's stages run on the
/// stream's actors, outside it, so MapRpcFlow attaches the scope to the call's <see cref="RpcContext"/>, the element's
/// context in the flow, and a stage re-enters it with <see cref="RunAsync{T}(RpcContext, Func{CancellationToken, Task{T}})"/>.
/// </remarks>
internal sealed class RpcCallScope
{
    private static readonly ConditionalWeakTable<RpcContext, RpcCallScope> Attached = new();

    private readonly ILogger _logger;
    private readonly Activity? _activity;
    private readonly CancellationToken _cancellationToken;

    public RpcCallScope(ILogger logger, Activity? activity, CancellationToken cancellationToken)
    {
        _logger = logger;
        _activity = activity;
        _cancellationToken = cancellationToken;
    }

    /// <summary>Attaches <paramref name="scope"/> to <paramref name="context"/> for as long as the context lives.</summary>
    public static void Attach(RpcContext context, RpcCallScope scope) => Attached.AddOrUpdate(context, scope);

    /// <summary>True when the call of <paramref name="context"/> was given up on: its token is cancelled (deadline, disconnect, answered).</summary>
    public static bool IsGivenUp(RpcContext context) =>
        Attached.TryGetValue(context, out var scope) && scope._cancellationToken.IsCancellationRequested;

    /// <summary>
    /// Runs <paramref name="action"/> in the call of <paramref name="context"/>: with it as <see cref="RpcContext.Current"/>
    /// and, when the endpoint attached a scope to it, the server span, the log scope and the call's token. A context
    /// created elsewhere (a test feeding the flow) has no attached scope: the action gets only the context and
    /// <see cref="CancellationToken.None"/>. Nothing set here leaks to the caller: an async method's changes to the
    /// async context end with it.
    /// </summary>
    public static async Task<T> RunAsync<T>(RpcContext context, Func<CancellationToken, Task<T>> action)
    {
        RpcContext.Current = context;
        if (!Attached.TryGetValue(context, out var scope))
        {
            return await action(CancellationToken.None).ConfigureAwait(false);
        }

        if (scope._activity is not null)
        {
            Activity.Current = scope._activity;
        }

        using (scope._logger.BeginScope(new RpcLogScope(context.Procedure, context.CorrelationId)))
        {
            return await action(scope._cancellationToken).ConfigureAwait(false);
        }
    }
}
