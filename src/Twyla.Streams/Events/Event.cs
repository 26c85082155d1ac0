using Akka.Streams;
using Twyla.Streams.Emit;

namespace Twyla.Streams.Events;

/// <summary>
/// An event received by a listener: its payload, its metadata and the three settlements
/// (<see cref="AckAsync"/>, <see cref="RejectAsync()"/>, <see cref="DropAsync"/>). The broker keeps the event
/// until it is settled, so an event is never lost; it may be delivered again if the listener stops first.
/// </summary>
/// <typeparam name="T">The payload contract.</typeparam>
public sealed class Event<T>
{
    private readonly IEventSettler _settler;
    private readonly ulong _tag;
    private Settlement? _settlement;

    internal Event(
        T payload, EventMetadata metadata, bool redelivered, int deliveryCount, string? lastFailure, IEventSettler settler, ulong tag,
        string? traceParent, string? traceState, CancellationToken cancellationToken)
    {
        TraceParent = traceParent;
        TraceState = traceState;
        Payload = payload;
        Metadata = metadata;
        Redelivered = redelivered;
        DeliveryCount = deliveryCount;
        LastFailure = lastFailure;
        CancellationToken = cancellationToken;
        _settler = settler;
        _tag = tag;
    }

    /// <summary>The payload, parsed and validated against <typeparamref name="T"/>.</summary>
    public T Payload { get; }

    /// <summary>Id, name, correlation, causation, time, source and version.</summary>
    public EventMetadata Metadata { get; }

    /// <summary>The event name, <c>domain.event-type</c>.</summary>
    public string Name => Metadata.Name;

    /// <summary>Whether the broker delivered this event before (it was rejected or its listener stopped).</summary>
    public bool Redelivered { get; }

    /// <summary>How many times the event was delivered, this delivery included (1 the first time).</summary>
    public int DeliveryCount { get; }

    /// <summary>
    /// Why the previous delivery of this event was rejected (for ack on completion: the handler's exception type and
    /// message), or <c>null</c> on a first delivery or when the event came back for another reason (its listener stopped).
    /// </summary>
    public string? LastFailure { get; }

    /// <summary>
    /// Fires when the listener stops before this event was settled: a drain whose timeout passed, a shutdown, or the
    /// listener failing. The event then goes back to the queue and will be delivered again, so a handler should stop
    /// its work (pass the token to the calls it makes).
    /// </summary>
    public CancellationToken CancellationToken { get; }

    /// <summary>The W3C <c>traceparent</c> the event was emitted with, if any.</summary>
    internal string? TraceParent { get; }

    /// <summary>The W3C <c>tracestate</c> the event was emitted with, if any.</summary>
    internal string? TraceState { get; }

    /// <summary>The size of the payload as delivered, in bytes (<c>messaging.message.body.size</c>), or <c>null</c> when unknown.</summary>
    internal int? BodySize { get; init; }

    /// <summary>Whether one of the settlements was called.</summary>
    public bool IsSettled => Volatile.Read(ref _settlement) is not null;

    /// <summary>Done: the broker forgets the event. Settling again is a no-op that returns the first settlement.</summary>
    /// <returns>
    /// Completes when the listener recorded the ack (it reaches the broker with the next batch, within milliseconds; a
    /// crash before that means the event is delivered again); fails with <see cref="EventSettlementException"/> if the
    /// listener stopped.
    /// </returns>
    public Task AckAsync() => Settle(SettleKind.Ack, null, null);

    /// <summary>
    /// Try again: the event goes back to its queue after the listener's retry delay for this delivery
    /// (<see cref="ListenSettings.RetryDelays"/>), with its delivery count and the redelivered flag set.
    /// </summary>
    /// <returns>Completes when the broker holds the event for its retry; fails with <see cref="EventSettlementException"/> if the listener stopped.</returns>
    public Task RejectAsync() => Settle(SettleKind.Reject, "rejected", null);

    /// <summary>
    /// Try again, with the reason it failed: the event goes back to its queue after the listener's retry delay for
    /// this delivery, and its next delivery carries <paramref name="reason"/> as <see cref="LastFailure"/>.
    /// </summary>
    /// <param name="reason">Why this delivery failed; non-empty.</param>
    /// <returns>Completes when the broker holds the event for its retry; fails with <see cref="EventSettlementException"/> if the listener stopped.</returns>
    public Task RejectAsync(string reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("A reject with a reason needs a non-empty reason; use RejectAsync() for none.", nameof(reason));
        }

        return Settle(SettleKind.Reject, reason, null);
    }

    /// <summary>Give up: the event goes to the listener's dead-letter queue with <paramref name="reason"/>. Never silently discarded.</summary>
    /// <param name="reason">Why, for whoever reads the dead letters; non-empty.</param>
    /// <returns>Completes when the event is in the dead-letter queue; fails with <see cref="EventSettlementException"/> if the listener stopped.</returns>
    public Task DropAsync(string reason)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("A drop needs a reason (non-empty) for whoever reads the dead-letter queue.", nameof(reason));
        }

        return Settle(SettleKind.Drop, reason, Diagnostics.ListenerTelemetry.DroppedByHandler);
    }

    /// <summary>A drop by the library, with the low-cardinality class of its reason for the metrics.</summary>
    internal Task DropByLibraryAsync(string reason, string reasonClass) => Settle(SettleKind.Drop, reason, reasonClass);

    /// <summary>
    /// An event to emit in response to this one: it carries this event's correlation id on and has this
    /// event's id as its causation id.
    /// </summary>
    /// <typeparam name="TOut">The payload contract of the new event.</typeparam>
    /// <param name="name">The new event's name, <c>domain.event-type</c>.</param>
    /// <param name="payload">The new event's payload (not null).</param>
    /// <returns>The outgoing event, ready for an emit sink or <see cref="EventBus.EmitAsync{T}(OutgoingEvent{T})"/>.</returns>
    public OutgoingEvent<TOut> Derive<TOut>(string name, TOut payload) =>
        OutgoingEvent.Create(name, payload).CausedBy(Metadata);

    /// <summary>The metrics of the listener that handed the event out, or <c>null</c>.</summary>
    internal Diagnostics.ListenerTelemetry? Telemetry => _settler.Telemetry;

    /// <summary>How the event was settled first (by whom ever settled it), or <c>null</c> while it is not.</summary>
    internal (SettleKind Kind, string? Reason)? SettledAs => Volatile.Read(ref _settlement) is { } s ? (s.Kind, s.Reason) : null;

    /// <inheritdoc />
    public override string ToString() => $"Event({Metadata.Name}, id {Metadata.Id}, delivery {DeliveryCount})";

    private Task Settle(SettleKind kind, string? reason, string? reasonClass)
    {
        if (Volatile.Read(ref _settlement) is { } existing)
        {
            return existing.Done.Task;
        }

        var mine = new Settlement(kind, reason);
        if (Interlocked.CompareExchange(ref _settlement, mine, null) is { } first)
        {
            return first.Done.Task;
        }

        _settler.Telemetry?.Settled(Metadata, kind, reasonClass);
        _ = RunAsync(mine.Done, kind, reason);
        return mine.Done.Task;
    }

    private async Task RunAsync(TaskCompletionSource tcs, SettleKind kind, string? reason)
    {
        try
        {
            await _settler.SettleAsync(_tag, kind, reason).ConfigureAwait(false);
            tcs.TrySetResult();
        }
        catch (EventSettlementException ex)
        {
            tcs.TrySetException(ex);
        }
        catch (StreamDetachedException ex)
        {
            tcs.TrySetException(Stopped(kind, ex));
        }
        catch (Exception ex)
        {
            tcs.TrySetException(new EventSettlementException(
                $"Could not {Verb(kind)} event {Metadata.Id} ({Metadata.Name}): {ex.Message}", ex));
        }
    }

    private EventSettlementException Stopped(SettleKind kind, Exception cause) => new(
        $"Cannot {Verb(kind)} event {Metadata.Id} ({Metadata.Name}): its listener has stopped. " +
        "The broker still holds the event and will deliver it again.",
        cause);

    private static string Verb(SettleKind kind) => kind switch
    {
        SettleKind.Ack => "ack",
        SettleKind.Reject => "reject",
        _ => "drop",
    };

    /// <summary>The first settlement: its kind and reason, and its completion (one allocation per event, as before).</summary>
    private sealed class Settlement(SettleKind kind, string? reason) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public SettleKind Kind { get; } = kind;

        public string? Reason { get; } = reason;

        public TaskCompletionSource Done => this;
    }
}
