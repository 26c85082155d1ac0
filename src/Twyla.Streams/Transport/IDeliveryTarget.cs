namespace Twyla.Streams.Transport;

/// <summary>
/// Receives what a consumer session produces. Implemented by the listen stage through async callbacks:
/// both methods are thread-safe, never block and may be called from transport threads.
/// Deliveries of one session arrive in tag order.
/// </summary>
internal interface IDeliveryTarget
{
    void OnDelivery(TransportDelivery delivery);

    /// <summary>The session died (channel or connection closed, consumer cancelled by the broker).</summary>
    void OnConsumerFailed(Exception cause);
}
