namespace Twyla.Streams.Events;

/// <summary>
/// A listener failed: its consumer could not start (broker unreachable, access refused, TLS rejected, a conflicting
/// queue) or died (connection lost, channel closed by the broker, queue deleted, bus disposed). The listen source fails
/// with it and <see cref="IListenControl.Completion"/> faults with it; the message names the queue and the cause,
/// <see cref="Exception.InnerException"/> is the transport's own exception. Events that were not acked go back to the
/// queue and are delivered again to the next listener of the group.
/// </summary>
public sealed class ListenException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, naming the queue.</param>
    public ListenException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What went wrong, naming the queue.</param>
    /// <param name="innerException">The cause.</param>
    public ListenException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ListenException()
        : base("The listener failed.")
    {
    }

    /// <summary>The failure of the listener of <paramref name="queue"/>: <paramref name="cause"/> itself if it is one, else wrapped with a message naming the queue.</summary>
    internal static ListenException OfQueue(string queue, Exception cause) =>
        cause as ListenException ?? new ListenException(
            cause.Message.Contains($"queue '{queue}'", StringComparison.Ordinal) ? cause.Message : $"The listener of queue '{queue}' failed: {cause.Message}",
            cause);
}
