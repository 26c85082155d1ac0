namespace Twyla.Streams.Transport;

/// <summary>
/// One consumer on one listener queue (a channel with <c>basic.qos prefetch</c> and manual acks).
/// Calls come from the listen stage one at a time, never concurrently; each returns when the transport
/// has done the work (sent the frame). A delivery is rejected or dropped through its own
/// <see cref="TransportDelivery.Handle"/>.
/// <see cref="IAsyncDisposable.DisposeAsync"/> closes the session: every unsettled delivery goes back to the queue.
/// </summary>
internal interface IConsumerSession : IAsyncDisposable
{
    /// <summary>
    /// Acks <paramref name="tag"/>, and with <paramref name="multiple"/> every unsettled delivery with a smaller tag.
    /// The tag must be unsettled (as AMQP's: acking a settled tag is a channel error); the listen stage's ledger sees
    /// to that.
    /// </summary>
    Task AckAsync(ulong tag, bool multiple, CancellationToken cancellationToken);

    /// <summary>Stops new deliveries (<c>basic.cancel</c>); settling what was delivered keeps working.</summary>
    Task StopConsumingAsync(CancellationToken cancellationToken);
}
