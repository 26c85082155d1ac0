namespace Twyla.Streams.Events;

/// <summary>
/// The materialized value of a listen source: stops or drains the listener and reports when it is closed.
/// </summary>
public interface IListenControl
{
    /// <summary>
    /// Completes when the listener has stopped and its consumer is closed; fails with the cause when the
    /// listener failed (for example the broker connection was lost).
    /// </summary>
    Task Completion { get; }

    /// <summary>
    /// Completes when the listener's consumer is registered with the broker: its group's queue and bindings exist, so
    /// an event emitted from now on reaches this listener. Await it before emitting in a test or a start-up sequence
    /// (a listener materialized with <c>Run()</c> is still declaring its topology when <c>Run()</c> returns, and an event
    /// emitted then to a group that does not exist yet is lost). Fails with the listener's failure when it could not
    /// start; is cancelled when the listener was stopped before it started.
    /// </summary>
    Task Ready { get; }

    /// <summary>
    /// Stops now: no more deliveries, the stream completes, the consumer closes. Events delivered and not yet
    /// settled go back to the queue; settling them afterwards fails with <see cref="EventSettlementException"/>.
    /// </summary>
    /// <returns><see cref="Completion"/>.</returns>
    Task ShutdownAsync();

    /// <summary>
    /// Stops gracefully: no more deliveries, the stream completes, events already emitted downstream may still be
    /// settled until they all are (or the drain timeout passes), then the consumer closes. Events not yet emitted
    /// downstream stay in the queue for the next listener.
    /// </summary>
    /// <returns><see cref="Completion"/>.</returns>
    Task DrainAsync();

    /// <summary>
    /// Asks the listener to drain (as <see cref="DrainAsync"/>) and completes as soon as it took the request: from then on
    /// it hands out no further event. Completes also when the listener had stopped already; never faults.
    /// <see cref="Completion"/> tells when it is closed. For hosts that report a listener as draining only once it is.
    /// </summary>
    /// <returns>Completes when the listener took the drain.</returns>
    Task BeginDrainAsync();
}
