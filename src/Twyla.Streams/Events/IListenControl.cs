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
