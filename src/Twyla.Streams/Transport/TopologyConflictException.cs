namespace Twyla.Streams.Transport;

/// <summary>
/// A queue or exchange already exists on the broker with other arguments than the ones a listener or emitter
/// declares (for example a classic queue where a quorum queue is asked for). The message names the queue and
/// the differing argument. Both transports (RabbitMQ and in-memory) report such a conflict with this exception.
/// </summary>
public sealed class TopologyConflictException : InvalidOperationException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What differs, naming the queue or exchange and the argument.</param>
    /// <param name="name">The queue or exchange.</param>
    /// <param name="argument">The argument that differs, e.g. <c>x-queue-type</c>.</param>
    /// <param name="innerException">The broker's error, or <c>null</c> (the in-memory transport has none).</param>
    public TopologyConflictException(string message, string name, string argument, Exception? innerException)
        : base(message, innerException)
    {
        Name = name;
        Argument = argument;
    }

    /// <summary>Creates the exception.</summary>
    public TopologyConflictException()
        : this("A queue or exchange already exists with other arguments.", string.Empty, string.Empty, new InvalidOperationException())
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What differs.</param>
    public TopologyConflictException(string message)
        : this(message, string.Empty, string.Empty, new InvalidOperationException())
    {
    }

    /// <summary>Creates the exception.</summary>
    /// <param name="message">What differs.</param>
    /// <param name="innerException">The cause.</param>
    public TopologyConflictException(string message, Exception innerException)
        : this(message, string.Empty, string.Empty, innerException)
    {
    }

    /// <summary>The queue or exchange whose declaration conflicts.</summary>
    public string Name { get; }

    /// <summary>The argument that differs, e.g. <c>x-queue-type</c> or <c>x-dead-letter-routing-key</c>.</summary>
    public string Argument { get; }

    /// <summary>The one wording of a conflict, for every transport.</summary>
    /// <param name="kind"><c>queue</c> or <c>exchange</c>.</param>
    /// <param name="name">The queue or exchange.</param>
    /// <param name="argument">The argument that differs.</param>
    /// <param name="asked">What this declaration asks for, e.g. <c>this declaration asks for 'quorum'</c>.</param>
    /// <param name="existing">What exists, in the transport's words.</param>
    /// <param name="innerException">The broker's error, if any.</param>
    internal static TopologyConflictException Create(
        string kind, string name, string argument, string asked, string existing, Exception? innerException) =>
        new(
            $"The {kind} '{name}' already exists with other arguments: '{argument}' differs ({asked}; {existing}). " +
            $"Delete the {kind} or declare it with the same settings.",
            name,
            argument,
            innerException);
}
