namespace Twyla.Streams.Transport;

/// <summary>
/// An operation on the broker that is neither an emit nor a listener failed: declaring a listener group, counting,
/// listing, replaying or purging dead letters. The broker could not be reached, refused the operation (for example
/// <c>ACCESS_REFUSED</c> for a user without permission on the group's queues), or did not answer in time. The message
/// names the operation, the broker (never the credentials) and the cause; <see cref="Exception.InnerException"/> is
/// the client's own exception. A declaration that conflicts with what exists is a <see cref="TopologyConflictException"/>.
/// </summary>
public sealed class BrokerException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed and why.</param>
    public BrokerException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What failed and why.</param>
    /// <param name="innerException">The cause.</param>
    public BrokerException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public BrokerException()
        : base("An operation on the broker failed.")
    {
    }
}
