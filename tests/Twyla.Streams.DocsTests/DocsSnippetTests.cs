using Xunit;

namespace Twyla.Streams.DocsTests;

/// <summary>
/// Every C# and F# block of README.md and docs/ compiles as written, as a program or library of its own: a missing
/// using, an undefined name or an API that does not exist fails here, named by file and line.
/// </summary>
public sealed class DocsSnippetTests
{
    /// <summary>The blocks' locations (<c>file:line</c> of the opening fence), one test case each.</summary>
    public static TheoryData<string> Snippets => [.. DocsSnippets.All.Select(s => s.Location)];

    [Theory]
    [MemberData(nameof(Snippets))]
    public async Task Snippet_compiles(string location)
    {
        var snippet = DocsSnippets.All.Single(s => s.Location == location);

        var errors = await SnippetCompiler.ErrorsAsync(snippet);

        Assert.True(
            errors.Count == 0,
            $"The {snippet.Language} block at {location} does not compile:\n{string.Join('\n', errors)}\n\n{snippet.Code}");
    }

    [Fact]
    public void Docs_have_csharp_and_fsharp_blocks()
    {
        // Guards the extraction itself: a change that found no blocks would pass every case above vacuously.
        Assert.Contains(DocsSnippets.All, s => s.File == "README.md" && s.Language == SnippetLanguage.CSharp);
        Assert.Contains(DocsSnippets.All, s => s.File == "README.md" && s.Language == SnippetLanguage.FSharp);
        Assert.Contains(DocsSnippets.All, s => s.File.StartsWith("docs/", StringComparison.Ordinal));
    }
}
