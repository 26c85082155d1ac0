namespace Twyla.Streams.Transport;

/// <summary>
/// One consumer on one listener queue (a channel with <c>basic.qos prefetch</c> and manual acks).
/// Calls come from the listen stage one at a time, never concurrently; each returns when the transport
/// has done the work (sent the frame, or for drops: the dead-letter copy is confirmed).
/// <see cref="IAsyncDisposable.DisposeAsync"/> closes the session: every unsettled delivery goes back to the queue.
/// </summary>
internal interface IConsumerSession : IAsyncDisposable
{
    /// <summary>Acks <paramref name="tag"/>, and with <paramref name="multiple"/> every unsettled delivery with a smaller tag.</summary>
    Task AckAsync(ulong tag, bool multiple, CancellationToken cancellationToken);

    /// <summary>
    /// Puts the delivery back on its queue to be tried again after <paramref name="delay"/> (zero: at once), with its
    /// metadata, its delivery count so far and <paramref name="reason"/> as its last failure. Returns once the broker
    /// holds the retry (for RabbitMQ: the copy in the retry queue is confirmed and the original acked).
    /// </summary>
    Task RejectAsync(TransportDelivery delivery, TimeSpan delay, string reason, CancellationToken cancellationToken);

    /// <summary>Moves the delivery to the dead-letter queue with <paramref name="reason"/>; it is never silently discarded.</summary>
    Task DropAsync(TransportDelivery delivery, string reason, CancellationToken cancellationToken);

    /// <summary>Stops new deliveries (<c>basic.cancel</c>); settling what was delivered keeps working.</summary>
    Task StopConsumingAsync(CancellationToken cancellationToken);
}
