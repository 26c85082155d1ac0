using Twyla.Streams.Contracts;

namespace Twyla.Streams.TestKit.Contracts;

/// <summary>
/// A contract assertion failed: the change would break the other side (the message lists each problem with its
/// path in the payload), or the snapshot was missing and has just been written.
/// </summary>
public sealed class ContractAssertException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What failed.</param>
    public ContractAssertException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with its cause.</summary>
    /// <param name="message">What failed.</param>
    /// <param name="innerException">The cause.</param>
    public ContractAssertException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Creates the exception.</summary>
    public ContractAssertException()
        : base("A contract assertion failed.")
    {
    }

    internal ContractAssertException(string message, IReadOnlyList<ContractProblem> problems)
        : base(message) => Problems = problems;

    /// <summary>The problems found, each with its path in the payload; empty when the snapshot was just written.</summary>
    public IReadOnlyList<ContractProblem> Problems { get; } = [];
}
