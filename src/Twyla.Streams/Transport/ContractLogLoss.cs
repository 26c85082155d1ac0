namespace Twyla.Streams.Transport;

/// <summary>How a transport's contract log may have lost what the transport stored in it.</summary>
internal enum ContractLogLoss
{
    /// <summary>
    /// The connection to the log was lost: the broker may have restarted with its data wiped. Listeners start again
    /// after a lost connection, and store their contracts again then.
    /// </summary>
    Disconnected,

    /// <summary>The log was deleted while the connection stayed up (an operator deleted it): nothing restarts by itself.</summary>
    Deleted,
}
