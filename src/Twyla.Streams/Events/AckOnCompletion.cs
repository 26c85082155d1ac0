using System.Diagnostics;
using Akka;
using Akka.Streams.Dsl;
using Twyla.Streams.Diagnostics;

namespace Twyla.Streams.Events;

/// <summary>
/// The normal way to consume: run a handler on each event and settle it for the user — ack when the handler
/// completed, reject (try again after the listener's retry delay, with the failure as the event's
/// <see cref="Event{T}.LastFailure"/>) when it failed, drop to the dead-letter queue once the event used up its
/// deliveries. An event the handler settled itself is left as the handler settled it, and reported so.
/// </summary>
public static class AckOnCompletion
{
    /// <summary>
    /// Runs <paramref name="handler"/> on each event, up to <see cref="AckOnCompletionSettings.Parallelism"/> at once,
    /// and settles each event when its handler finished; emits what was done, in completion order.
    /// <para><b>Emits when</b> an event was settled (acked, rejected or dropped).</para>
    /// <para><b>Backpressures when</b> <see cref="AckOnCompletionSettings.Parallelism"/> handlers are running, or downstream backpressures.</para>
    /// <para><b>Completes when</b> upstream completes and every running handler finished and its event was settled.</para>
    /// <para><b>Cancels when</b> downstream cancels.</para>
    /// <para><b>Fails when</b> a settlement fails (the listener stopped or lost its broker); a failing handler never fails the stream.</para>
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="handler">The work for one event; a faulted task (or an exception) counts as a failure.</param>
    /// <param name="settings">Parallelism and delivery limit.</param>
    /// <returns>A flow from events to what was done with them; materializes <see cref="NotUsed"/>.</returns>
    public static Flow<Event<T>, HandledEvent, NotUsed> Flow<T>(Func<Event<T>, Task> handler, AckOnCompletionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(settings);
        return Akka.Streams.Dsl.Flow.Create<Event<T>>()
            .SelectAsyncUnordered(settings.Parallelism, e => HandleAsync(e, handler, settings.MaxDeliveries))
            .Named("twyla-ack-on-completion");
    }

    /// <summary>
    /// Like <see cref="Flow{T}(Func{Event{T}, Task}, AckOnCompletionSettings)"/>, as a sink.
    /// <para><b>Backpressures when</b> <see cref="AckOnCompletionSettings.Parallelism"/> handlers are running.</para>
    /// <para><b>Completes when</b> upstream completes and every event was settled.</para>
    /// <para><b>Fails when</b> a settlement fails; a failing handler never fails the stream.</para>
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="handler">The work for one event.</param>
    /// <param name="settings">Parallelism and delivery limit.</param>
    /// <returns>A sink that materializes a task completing when the stream is done.</returns>
    public static Sink<Event<T>, Task<Done>> Sink<T>(Func<Event<T>, Task> handler, AckOnCompletionSettings settings) =>
        Flow(handler, settings).ToMaterialized(Akka.Streams.Dsl.Sink.Ignore<HandledEvent>(), Keep.Right);

    /// <summary>
    /// Like <see cref="Flow{T}(Func{Event{T}, Task}, AckOnCompletionSettings)"/>, for a handler whose task has a result
    /// (ignored): an F# function returning <c>Task&lt;unit&gt;</c>, or one that ends with <c>return! bus.EmitAsync(...)</c>.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <typeparam name="TResult">The result of the handler's task (ignored).</typeparam>
    /// <param name="handler">The work for one event; a faulted task (or an exception) counts as a failure.</param>
    /// <param name="settings">Parallelism and delivery limit.</param>
    /// <returns>A flow from events to what was done with them; materializes <see cref="NotUsed"/>.</returns>
    public static Flow<Event<T>, HandledEvent, NotUsed> Flow<T, TResult>(Func<Event<T>, Task<TResult>> handler, AckOnCompletionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Flow<T>(handler, settings); // a Func<_, Task<TResult>> is a Func<_, Task> (covariance): no wrapper
    }

    /// <summary>
    /// Like <see cref="Sink{T}(Func{Event{T}, Task}, AckOnCompletionSettings)"/>, for a handler whose task has a result
    /// (ignored), such as an F# function returning <c>Task&lt;unit&gt;</c>.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <typeparam name="TResult">The result of the handler's task (ignored).</typeparam>
    /// <param name="handler">The work for one event.</param>
    /// <param name="settings">Parallelism and delivery limit.</param>
    /// <returns>A sink that materializes a task completing when the stream is done.</returns>
    public static Sink<Event<T>, Task<Done>> Sink<T, TResult>(Func<Event<T>, Task<TResult>> handler, AckOnCompletionSettings settings) =>
        Flow<T, TResult>(handler, settings).ToMaterialized(Akka.Streams.Dsl.Sink.Ignore<HandledEvent>(), Keep.Right);

    /// <summary>
    /// Acks every event that comes out of <paramref name="handler"/>, a flow written by the user that passes on each
    /// event once it finished with it (in any order). An event the flow does not pass on must be settled by the flow
    /// itself; otherwise it stays unsettled until the listener closes and is then delivered again.
    /// <para><b>Emits when</b> an event that left the user's flow was acked.</para>
    /// <para><b>Backpressures when</b> the user's flow backpressures, or <see cref="AckOnCompletionSettings.Parallelism"/> acks are pending.</para>
    /// <para><b>Completes when</b> the user's flow completes and every ack was sent.</para>
    /// <para><b>Cancels when</b> downstream cancels.</para>
    /// <para><b>Fails when</b> the user's flow fails (its unsettled events go back to the queue) or an ack fails.</para>
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="handler">The user's flow.</param>
    /// <param name="settings">Parallelism of the acks.</param>
    /// <returns>A flow from events to what was done with them; materializes <see cref="NotUsed"/>.</returns>
    public static Flow<Event<T>, HandledEvent, NotUsed> FromFlow<T>(Flow<Event<T>, Event<T>, NotUsed> handler, AckOnCompletionSettings settings)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ArgumentNullException.ThrowIfNull(settings);
        return handler
            .SelectAsyncUnordered(settings.Parallelism, async e =>
            {
                await e.AckAsync().ConfigureAwait(false);
                return new HandledEvent(e.Metadata, SettleKind.Ack, string.Empty, e.DeliveryCount);
            })
            .Named("twyla-ack-on-completion-flow");
    }

    private static Task<HandledEvent> HandleAsync<T>(Event<T> e, Func<Event<T>, Task> handler, int maxDeliveries) =>
        EventTracing.Source.HasListeners() ? HandleInSpanAsync(e, handler, maxDeliveries) : HandleWithoutSpan(e, handler, maxDeliveries);

    /// <summary>
    /// Nobody traces: a handler that completed at once, successfully, without settling the event is acked without an
    /// async state machine (the usual case for a fast handler; a CPU and allocation profile showed the two state
    /// machines and their tasks per event); anything else goes on as <see cref="SettleAsync{T}"/> says.
    /// </summary>
    private static Task<HandledEvent> HandleWithoutSpan<T>(Event<T> e, Func<Event<T>, Task> handler, int maxDeliveries)
    {
        var telemetry = e.Telemetry;
        var start = Stopwatch.GetTimestamp();
        var task = Invoke(e, handler, telemetry);
        if (!task.IsCompletedSuccessfully || e.IsSettled)
        {
            return EventOfAsync(SettleAsync(e, task, maxDeliveries, telemetry, null, start));
        }

        telemetry?.Processed(e.Metadata, start, null);
        var ack = e.AckAsync();
        var acked = new HandledEvent(e.Metadata, SettleKind.Ack, string.Empty, e.DeliveryCount);
        return ack.IsCompletedSuccessfully ? Task.FromResult(acked) : AckedAsync(ack, acked);
    }

    private static async Task<HandledEvent> AckedAsync(Task ack, HandledEvent acked)
    {
        await ack.ConfigureAwait(false);
        return acked;
    }

    private static async Task<HandledEvent> EventOfAsync(Task<(HandledEvent Event, string? ReasonClass)> handled) =>
        (await handled.ConfigureAwait(false)).Event;

    private static async Task<HandledEvent> HandleInSpanAsync<T>(Event<T> e, Func<Event<T>, Task> handler, int maxDeliveries)
    {
        var telemetry = e.Telemetry;
        using var activity = EventTracing.StartProcess(e, telemetry);
        var start = Stopwatch.GetTimestamp();
        var task = Invoke(e, handler, telemetry);
        var handled = await SettleAsync(e, task, maxDeliveries, telemetry, activity, start).ConfigureAwait(false);
        EventTracing.Settled(activity, handled.Event.Settlement, handled.Event.Reason, handled.ReasonClass);
        return handled.Event;
    }

    /// <summary>
    /// Calls the handler with the event's log scope (its continuations keep the scope: they captured it) and returns
    /// its task; an exception thrown by the call is a failed task.
    /// </summary>
    private static Task Invoke<T>(Event<T> e, Func<Event<T>, Task> handler, ListenerTelemetry? telemetry)
    {
        using (telemetry?.Logger.BeginScope(new EventLogScope(e.Metadata, e.DeliveryCount)))
        {
            try
            {
                return handler(e) ?? throw new InvalidOperationException("The handler returned a null Task.");
            }
#pragma warning disable CA1031 // a failing handler is an outcome, not a stream failure
            catch (Exception ex)
#pragma warning restore CA1031
            {
                return Task.FromException(ex);
            }
        }
    }

    /// <summary>Waits for the handler's task and settles the event by its outcome (the rules of <see cref="Flow{T}(Func{Event{T}, Task}, AckOnCompletionSettings)"/>).</summary>
    private static async Task<(HandledEvent Event, string? ReasonClass)> SettleAsync<T>(
        Event<T> e, Task task, int maxDeliveries, ListenerTelemetry? telemetry, Activity? activity, long start)
    {
        Exception? failure = null;
        try
        {
            await task.ConfigureAwait(false);
        }
#pragma warning disable CA1031 // a failing handler is an outcome, not a stream failure
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = ex;
            EventTracing.HandlerFailed(activity, ex);
        }

        telemetry?.Processed(e.Metadata, start, failure);
        if (e.IsSettled)
        {
            // The handler settled the event itself (a drop, a reject, an ack): report what it did, not an ack.
            await e.AckAsync().ConfigureAwait(false); // a no-op that awaits the handler's own settlement
            var (kind, byHandler) = e.SettledAs!.Value;
            return (new HandledEvent(e.Metadata, kind, kind == SettleKind.Ack ? string.Empty : byHandler ?? string.Empty, e.DeliveryCount), ListenerTelemetry.DroppedByHandler);
        }

        if (failure is null)
        {
            await e.AckAsync().ConfigureAwait(false);
            return (new HandledEvent(e.Metadata, SettleKind.Ack, string.Empty, e.DeliveryCount), null);
        }

        var failed = $"{failure.GetType().Name}: {failure.Message}";
        if (e.DeliveryCount >= maxDeliveries)
        {
            var dropReason = $"handler failed on delivery {e.DeliveryCount} of {maxDeliveries}: {failed}";
            await e.DropByLibraryAsync(dropReason, ListenerTelemetry.HandlerFailed).ConfigureAwait(false);
            return (new HandledEvent(e.Metadata, SettleKind.Drop, dropReason, e.DeliveryCount), ListenerTelemetry.HandlerFailed);
        }

        await e.RejectAsync(failed).ConfigureAwait(false);
        return (new HandledEvent(e.Metadata, SettleKind.Reject, failed, e.DeliveryCount), null);
    }
}
