namespace Twyla.Streams.Transport;

/// <summary>
/// Publishes events to the events exchange with the event name as routing key. Thread-safe: the emit stage
/// keeps several publishes in flight. <see cref="IAsyncDisposable.DisposeAsync"/> closes the channel.
/// </summary>
internal interface IPublisherSession : IAsyncDisposable
{
    /// <summary>
    /// Whether the session should still be used: false once its channel or connection died (whatever exception reported
    /// it), the broker refused one of its publishes (nack), or it was disposed. A caller that keeps a session for many
    /// publishes opens a new one when this is false.
    /// </summary>
    bool IsOpen { get; }

    /// <summary>
    /// Completes when the broker confirmed the event; fails with <see cref="Emit.EmitException"/> on a nack
    /// or, when <paramref name="mandatory"/>, when no queue is bound for the event's name, or when the session
    /// is closed before the confirm. Cancellation fails it with <see cref="OperationCanceledException"/>; a
    /// caller that closes the session to give up can pass <see cref="CancellationToken.None"/>.
    /// </summary>
    Task PublishAsync(EventEnvelope envelope, bool mandatory, CancellationToken cancellationToken);
}
