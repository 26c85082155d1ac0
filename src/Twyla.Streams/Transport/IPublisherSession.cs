namespace Twyla.Streams.Transport;

/// <summary>
/// Publishes events to the events exchange with the event name as routing key. Thread-safe: the emit stage
/// keeps several publishes in flight. <see cref="IAsyncDisposable.DisposeAsync"/> closes the channel.
/// </summary>
internal interface IPublisherSession : IAsyncDisposable
{
    /// <summary>
    /// The longest the transport lets a publish wait for its confirm (<see cref="Timeout.InfiniteTimeSpan"/>: no
    /// limit of its own). The session does not time publishes out itself, which would cost a timer per publish:
    /// callers enforce the shorter of this and their own timeout (the emit stage with its timer, <c>EmitAsync</c>
    /// with a cancellation token).
    /// </summary>
    TimeSpan ConfirmTimeout { get; }

    /// <summary>
    /// Whether the session can still publish: false once its channel or connection died (whatever exception reported
    /// it) or it was disposed. A caller that keeps a session for many publishes opens a new one when this is false.
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

/// <summary>The rule every caller of <see cref="IPublisherSession"/> applies to confirm timeouts.</summary>
internal static class PublisherSessionExtensions
{
    /// <summary>The shorter of the caller's own confirm timeout and the session's (when it has one).</summary>
    public static TimeSpan ConfirmTimeoutWithin(this IPublisherSession session, TimeSpan own) =>
        session.ConfirmTimeout > TimeSpan.Zero && session.ConfirmTimeout < own ? session.ConfirmTimeout : own;
}
