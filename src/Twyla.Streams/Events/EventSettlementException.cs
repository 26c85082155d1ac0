namespace Twyla.Streams.Events;

/// <summary>
/// An event could not be settled, typically because its listener stopped before the settlement reached it.
/// The broker still holds the event and delivers it again: nothing is lost, but it may be handled twice.
/// </summary>
public sealed class EventSettlementException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What could not be settled and why.</param>
    public EventSettlementException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What could not be settled and why.</param>
    /// <param name="innerException">The cause.</param>
    public EventSettlementException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public EventSettlementException()
        : base("The event could not be settled.")
    {
    }
}
