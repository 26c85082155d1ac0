namespace Twyla.Streams.Contracts;

/// <summary>
/// The outcome of <see cref="ContractCompatibility.Check"/>: compatible when every payload the producer's contract
/// allows is accepted by the consumer's, otherwise the problems, each with its path in the payload.
/// </summary>
public sealed class ContractCompatibilityResult
{
    internal ContractCompatibilityResult(IReadOnlyList<ContractProblem> problems) => Problems = problems;

    /// <summary>True when every payload the producer may send is accepted by the consumer.</summary>
    public bool IsCompatible => Problems.Count == 0;

    /// <summary>Why the consumer may refuse what the producer sends; empty when compatible.</summary>
    public IReadOnlyList<ContractProblem> Problems { get; }

    /// <summary>"compatible", or one line per problem (<c>path: reason</c>).</summary>
    /// <returns>A description for logs and test failures.</returns>
    public override string ToString() =>
        IsCompatible ? "compatible" : string.Join(Environment.NewLine, Problems.Select(p => p.ToString()));
}
