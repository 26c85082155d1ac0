namespace Twyla.Streams.Contracts;

/// <summary>
/// One reason a producer's contract does not satisfy a consumer's: where in the payload, and what a producer may send
/// there that the consumer would refuse.
/// </summary>
/// <param name="Path">
/// The place in the payload as a JSON pointer (RFC 6901): <c>""</c> is the payload itself, <c>/customer/name</c> a
/// nested member; the segment <c>*</c> stands for any item of an array or any member of a map.
/// </param>
/// <param name="Reason">What the producer may send there and why the consumer refuses it.</param>
public sealed record ContractProblem(string Path, string Reason)
{
    /// <summary>The problem as <c>path: reason</c>, the payload itself shown as <c>(payload)</c>.</summary>
    /// <returns>The path and the reason.</returns>
    public override string ToString() => $"{(Path.Length == 0 ? "(payload)" : Path)}: {Reason}";
}
