namespace Twyla.Streams.Emit;

/// <summary>
/// An event could not be emitted: the broker refused it (nack), did not confirm it in time,
/// returned it as unroutable (mandatory emit), or the connection failed before the confirm.
/// </summary>
public sealed class EmitException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What went wrong, naming the event.</param>
    public EmitException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What went wrong, naming the event.</param>
    /// <param name="innerException">The cause.</param>
    public EmitException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public EmitException()
        : base("The event could not be emitted.")
    {
    }
}
