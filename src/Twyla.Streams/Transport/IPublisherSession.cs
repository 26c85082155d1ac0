namespace Twyla.Streams.Transport;

/// <summary>
/// Publishes events to the events exchange with the event name as routing key. Thread-safe: the emit stage
/// keeps several publishes in flight. <see cref="IAsyncDisposable.DisposeAsync"/> closes the channel.
/// </summary>
internal interface IPublisherSession : IAsyncDisposable
{
    /// <summary>
    /// Completes when the broker confirmed the event; fails with <see cref="Emit.EmitException"/> on a nack
    /// or, when <paramref name="mandatory"/>, when no queue is bound for the event's name.
    /// Cancellation (the stage's confirm timeout) fails it with <see cref="OperationCanceledException"/>.
    /// </summary>
    Task PublishAsync(EventEnvelope envelope, bool mandatory, CancellationToken cancellationToken);
}
