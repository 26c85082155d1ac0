using Twyla.Streams.Contracts;
using Xunit;

namespace Twyla.Streams.Tests.Contracts;

/// <summary>Assertions on a <see cref="ContractCompatibilityResult"/>: compatible, or exactly one problem at a path whose reason names the rule.</summary>
internal static class CompatibilityAssert
{
    public static void Compatible(ContractCompatibilityResult result) => Assert.True(result.IsCompatible, result.ToString());

    public static void SingleProblem(ContractCompatibilityResult result, string path, params string[] reasonParts)
    {
        var problem = Assert.Single(result.Problems);
        Assert.Equal(path, problem.Path);
        foreach (var part in reasonParts)
        {
            Assert.Contains(part, problem.Reason, StringComparison.Ordinal);
        }
    }
}
