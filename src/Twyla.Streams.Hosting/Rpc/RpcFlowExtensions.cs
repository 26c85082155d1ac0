using Akka.Streams.Dsl;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>
/// Stages for flows served with <c>MapRpcFlow</c> that run their code in the call they serve, as a <c>MapRpc</c>
/// handler does. A flow's stages run on the stream's actors, outside the request's async context; a plain
/// <c>SelectAsync</c> therefore logs without the call's scope, and an <see cref="RpcClient"/> call from it starts a
/// new correlation id and trace. <c>SelectAsyncInCallContext</c> runs its function with
/// <see cref="RpcContext.Current"/> set to the element's context, the call's server span as the current activity and
/// the log scope (<c>Procedure</c>, <c>CorrelationId</c>) open, and gives it the call's cancellation token.
/// </summary>
/// <remarks>
/// <para>C#: <c>app.MapRpcFlow("price", FlowWithContext.Create&lt;PriceRequest, RpcContext&gt;().SelectAsyncInCallContext(8, pricing.QuoteAsync))</c>.
/// F#: <c>FlowWithContext.Create&lt;Quote, RpcContext&gt;().SelectAsyncInCallContext(4, fun q ct -&gt; price q ct)</c>.</para>
/// <para>The token is cancelled when the caller's deadline passes, when the caller disconnects, and once the call
/// is answered (for example with 500 <c>no_answer</c> after <see cref="RpcServerOptions.FlowAnswerTimeout"/>), so
/// work nobody waits for stops. An element whose context was not created by the endpoint (a test feeding the flow
/// its own contexts) runs with that context as <see cref="RpcContext.Current"/> and <see cref="CancellationToken.None"/>.</para>
/// <para>When the function gives up because the call's token was cancelled (an <see cref="OperationCanceledException"/>
/// once the token is cancelled), the element is dropped: its caller has gone or been answered, and the flow, which
/// every caller shares, carries on. Any other exception fails the flow, as with <c>SelectAsync</c>: the callers in
/// flight get 500 and the next request materializes the flow again. Throw <see cref="RpcException"/> from a
/// <c>MapRpc</c> handler for an answer of your own choice instead.</para>
/// </remarks>
public static class RpcFlowExtensions
{
    /// <summary>
    /// Like <c>SelectAsync</c>, with <paramref name="handler"/> run in the call of each element: the call's
    /// <see cref="RpcContext"/>, span and log scope (see <see cref="RpcFlowExtensions"/>).
    /// </summary>
    /// <typeparam name="TIn">The flow's input.</typeparam>
    /// <typeparam name="TOut">The elements this stage gets.</typeparam>
    /// <typeparam name="TNext">The elements this stage emits.</typeparam>
    /// <typeparam name="TMat">The flow's materialized value.</typeparam>
    /// <param name="flow">The flow so far.</param>
    /// <param name="parallelism">How many elements run at once (at least 1); results keep the input order.</param>
    /// <param name="handler">The work for one element.</param>
    /// <returns>The flow with the stage appended.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parallelism"/> is less than 1.</exception>
    public static FlowWithContext<TIn, RpcContext, TNext, RpcContext, TMat> SelectAsyncInCallContext<TIn, TOut, TNext, TMat>(
        this FlowWithContext<TIn, RpcContext, TOut, RpcContext, TMat> flow, int parallelism, Func<TOut, Task<TNext>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return flow.SelectAsyncInCallContext(parallelism, (element, _) => handler(element));
    }

    /// <summary>
    /// Like <c>SelectAsync</c>, with <paramref name="handler"/> run in the call of each element: the call's
    /// <see cref="RpcContext"/>, span and log scope, and its cancellation token (see <see cref="RpcFlowExtensions"/>).
    /// </summary>
    /// <typeparam name="TIn">The flow's input.</typeparam>
    /// <typeparam name="TOut">The elements this stage gets.</typeparam>
    /// <typeparam name="TNext">The elements this stage emits.</typeparam>
    /// <typeparam name="TMat">The flow's materialized value.</typeparam>
    /// <param name="flow">The flow so far.</param>
    /// <param name="parallelism">How many elements run at once (at least 1); results keep the input order.</param>
    /// <param name="handler">The work for one element, with the call's token (deadline, disconnect, answered).</param>
    /// <returns>The flow with the stage appended.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="parallelism"/> is less than 1.</exception>
    public static FlowWithContext<TIn, RpcContext, TNext, RpcContext, TMat> SelectAsyncInCallContext<TIn, TOut, TNext, TMat>(
        this FlowWithContext<TIn, RpcContext, TOut, RpcContext, TMat> flow, int parallelism, Func<TOut, CancellationToken, Task<TNext>> handler)
    {
        ArgumentNullException.ThrowIfNull(flow);
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentOutOfRangeException.ThrowIfLessThan(parallelism, 1);
        return flow.Via(Flow.Create<(TOut, RpcContext)>()
            .SelectAsync(parallelism, async element =>
            {
                var (value, context) = element;
                try
                {
                    var next = await RpcCallScope.RunAsync(context, token => handler(value, token)).ConfigureAwait(false);
                    return (Answered: true, Next: next, Context: context);
                }
                catch (OperationCanceledException) when (RpcCallScope.IsGivenUp(context))
                {
                    // The work honoured the call's token: nobody waits for this answer. Drop the element rather than
                    // fail the flow, which every other caller shares.
                    return (Answered: false, Next: default(TNext)!, Context: context);
                }
            })
            .Where(result => result.Answered)
            .Select(result => (result.Next, result.Context)));
    }
}
