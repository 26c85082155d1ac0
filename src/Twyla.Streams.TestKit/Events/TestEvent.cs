using Twyla.Streams.Events;

namespace Twyla.Streams.TestKit;

/// <summary>
/// Builds events by hand, as a listener would hand them to a handler or a flow, without a bus: feed
/// <see cref="TestEvent{T}.Event"/> to a handler, to <see cref="AckOnCompletion"/> or to any flow (from a
/// <c>TestSource</c> or <c>Source.From</c>), then assert how it was settled.
/// </summary>
public static class TestEvent
{
    /// <summary>
    /// How long the <c>Expect*</c> methods of <see cref="TestEvent{T}"/> wait for a settlement by default: the Akka
    /// TestKit's single-expect default, 3 seconds.
    /// </summary>
    public static TimeSpan DefaultTimeout { get; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// A first delivery of a new event: a chain start with a new id (its own correlation id), sent now by
    /// <c>test</c>, version 1. Change any of it with the <c>With*</c> methods.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="name">The event name, <c>domain.event-type</c>.</param>
    /// <param name="payload">The payload (not null).</param>
    /// <returns>The event and its settlement record.</returns>
    public static TestEvent<T> Create<T>(string name, T payload)
    {
        EventName.Validate(name, nameof(name));
        ArgumentNullException.ThrowIfNull(payload);
        var id = Guid.CreateVersion7().ToString("D");
        return new TestEvent<T>(payload, new EventMetadata(id, name, id, string.Empty, DateTimeOffset.UtcNow, "test", 1), 1, false, null, CancellationToken.None);
    }
}

/// <summary>
/// One hand-built <see cref="Event{T}"/> and the record of how it was settled. Immutable: each <c>With*</c> method
/// returns a new, unsettled event.
/// </summary>
/// <typeparam name="T">The payload contract.</typeparam>
public sealed class TestEvent<T>
{
    private readonly RecordingSettler _settler = new();
    private readonly string? _lastFailure;
    private readonly CancellationToken _cancellationToken;

    internal TestEvent(T payload, EventMetadata metadata, int deliveryCount, bool redelivered, string? lastFailure, CancellationToken cancellationToken)
    {
        _lastFailure = lastFailure;
        _cancellationToken = cancellationToken;
        Event = new Event<T>(payload, metadata, redelivered, deliveryCount, lastFailure, _settler, 1, null, null, cancellationToken);
    }

    /// <summary>The event, as a listener hands it to a handler or a flow.</summary>
    public Event<T> Event { get; }

    /// <summary>The event's metadata.</summary>
    public EventMetadata Metadata => Event.Metadata;

    /// <summary>Completes with the event's first settlement (later ones are no-ops, as with a listener).</summary>
    public Task<EventSettlement> Settled => _settler.Settled;

    /// <summary>The event's first settlement, or <c>null</c> while it is not settled.</summary>
    public EventSettlement? Settlement => _settler.Settled.IsCompletedSuccessfully ? _settler.Settled.Result : null;

    /// <summary>A copy with other metadata (its name included).</summary>
    /// <param name="metadata">The metadata.</param>
    /// <returns>A new, unsettled event.</returns>
    public TestEvent<T> WithMetadata(EventMetadata metadata)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        EventName.Validate(metadata.Name, nameof(metadata));
        return new(Event.Payload, metadata, Event.DeliveryCount, Event.Redelivered, _lastFailure, _cancellationToken);
    }

    /// <summary>A copy in another correlation chain.</summary>
    /// <param name="correlationId">The id of the chain's first event.</param>
    /// <returns>A new, unsettled event.</returns>
    public TestEvent<T> WithCorrelationId(string correlationId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(correlationId);
        return WithMetadata(Metadata with { CorrelationId = correlationId });
    }

    /// <summary>A copy caused by another event (no longer a chain start).</summary>
    /// <param name="causationId">The id of the event that caused this one.</param>
    /// <returns>A new, unsettled event.</returns>
    public TestEvent<T> WithCausationId(string causationId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(causationId);
        return WithMetadata(Metadata with { CausationId = causationId });
    }

    /// <summary>
    /// A copy delivered <paramref name="deliveryCount"/> times (this delivery included); redelivered when above 1, as a
    /// listener reports it (change that with <see cref="WithRedelivered"/>).
    /// </summary>
    /// <param name="deliveryCount">1 or more.</param>
    /// <returns>A new, unsettled event.</returns>
    public TestEvent<T> WithDeliveryCount(int deliveryCount)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(deliveryCount, 1);
        return new(Event.Payload, Metadata, deliveryCount, deliveryCount > 1, _lastFailure, _cancellationToken);
    }

    /// <summary>A copy whose redelivered flag is <paramref name="redelivered"/>.</summary>
    /// <param name="redelivered">Whether the broker delivered the event before.</param>
    /// <returns>A new, unsettled event.</returns>
    public TestEvent<T> WithRedelivered(bool redelivered) =>
        new(Event.Payload, Metadata, Event.DeliveryCount, redelivered, _lastFailure, _cancellationToken);

    /// <summary>A copy whose previous delivery failed with <paramref name="lastFailure"/> (<see cref="Event{T}.LastFailure"/>).</summary>
    /// <param name="lastFailure">Why the previous delivery was rejected.</param>
    /// <returns>A new, unsettled event.</returns>
    public TestEvent<T> WithLastFailure(string lastFailure)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(lastFailure);
        return new(Event.Payload, Metadata, Event.DeliveryCount, Event.Redelivered, lastFailure, _cancellationToken);
    }

    /// <summary>A copy whose <see cref="Event{T}.CancellationToken"/> is <paramref name="cancellationToken"/>: cancel it to act out the listener stopping.</summary>
    /// <param name="cancellationToken">The token the handler sees.</param>
    /// <returns>A new, unsettled event.</returns>
    public TestEvent<T> WithCancellationToken(CancellationToken cancellationToken) =>
        new(Event.Payload, Metadata, Event.DeliveryCount, Event.Redelivered, _lastFailure, cancellationToken);

    /// <summary>Waits up to <see cref="TestEvent.DefaultTimeout"/> for the event to be acked.</summary>
    /// <exception cref="TwylaAssertionException">It was not settled in time, or rejected or dropped.</exception>
    public void ExpectAcked() => ExpectAcked(TestEvent.DefaultTimeout);

    /// <summary>Waits up to <paramref name="timeout"/> for the event to be acked.</summary>
    /// <param name="timeout">How long to wait for its settlement.</param>
    /// <exception cref="TwylaAssertionException">It was not settled in time, or rejected or dropped.</exception>
    public void ExpectAcked(TimeSpan timeout) => _ = Expect(SettleKind.Ack, timeout);

    /// <summary>Waits up to <see cref="TestEvent.DefaultTimeout"/> for the event to be rejected (to be tried again).</summary>
    /// <returns>The reject's reason (<c>rejected</c> when none was given).</returns>
    /// <exception cref="TwylaAssertionException">It was not settled in time, or acked or dropped.</exception>
    public string ExpectRejected() => ExpectRejected(TestEvent.DefaultTimeout);

    /// <summary>Waits up to <paramref name="timeout"/> for the event to be rejected (to be tried again).</summary>
    /// <param name="timeout">How long to wait for its settlement.</param>
    /// <returns>The reject's reason (<c>rejected</c> when none was given).</returns>
    /// <exception cref="TwylaAssertionException">It was not settled in time, or acked or dropped.</exception>
    public string ExpectRejected(TimeSpan timeout) => Expect(SettleKind.Reject, timeout).Reason!;

    /// <summary>Waits up to <see cref="TestEvent.DefaultTimeout"/> for the event to be dropped to the dead-letter queue.</summary>
    /// <returns>The drop's reason.</returns>
    /// <exception cref="TwylaAssertionException">It was not settled in time, or acked or rejected.</exception>
    public string ExpectDropped() => ExpectDropped(TestEvent.DefaultTimeout);

    /// <summary>Waits up to <paramref name="timeout"/> for the event to be dropped to the dead-letter queue.</summary>
    /// <param name="timeout">How long to wait for its settlement.</param>
    /// <returns>The drop's reason.</returns>
    /// <exception cref="TwylaAssertionException">It was not settled in time, or acked or rejected.</exception>
    public string ExpectDropped(TimeSpan timeout) => Expect(SettleKind.Drop, timeout).Reason!;

    /// <summary>Asserts that the event is not settled (yet).</summary>
    /// <exception cref="TwylaAssertionException">It was settled.</exception>
    public void ExpectNotSettled()
    {
        if (Settlement is { } settlement)
        {
            throw new TwylaAssertionException($"Expected {Describe()} not to be settled, but it was {Describe(settlement)}.");
        }
    }

    /// <inheritdoc />
    public override string ToString() => Event.ToString();

    private EventSettlement Expect(SettleKind kind, TimeSpan timeout)
    {
        if (!_settler.Settled.Wait(timeout))
        {
            throw new TwylaAssertionException($"Expected {Describe()} to be {Past(kind)} within {timeout}, but it was not settled.");
        }

        var settlement = _settler.Settled.Result;
        if (settlement.Kind != kind)
        {
            throw new TwylaAssertionException($"Expected {Describe()} to be {Past(kind)}, but it was {Describe(settlement)}.");
        }

        return settlement;
    }

    private string Describe() => $"event {Metadata.Id} ({Metadata.Name}, delivery {Event.DeliveryCount})";

    private static string Describe(EventSettlement settlement) =>
        settlement.Reason is null ? Past(settlement.Kind) : $"{Past(settlement.Kind)}: {settlement.Reason}";

    private static string Past(SettleKind kind) => kind switch
    {
        SettleKind.Ack => "acked",
        SettleKind.Reject => "rejected",
        _ => "dropped",
    };
}
