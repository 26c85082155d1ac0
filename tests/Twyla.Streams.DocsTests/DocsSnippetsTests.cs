using Xunit;

namespace Twyla.Streams.DocsTests;

/// <summary>Which fenced blocks of a Markdown file are compiled, and what their code and line are.</summary>
public sealed class DocsSnippetsTests
{
    private static List<DocsSnippet> Extract(params string[] lines) => [.. DocsSnippets.Extract("docs/a.md", string.Join('\n', lines))];

    [Fact]
    public void Csharp_and_fsharp_blocks_are_found_with_the_line_of_their_fence()
    {
        var snippets = Extract("# Title", "```csharp", "var x = 1;", "```", "text", "```fsharp", "let x = 1", "```");

        Assert.Equal(
            [
                new DocsSnippet("docs/a.md", 2, SnippetLanguage.CSharp, "var x = 1;\n"),
                new DocsSnippet("docs/a.md", 6, SnippetLanguage.FSharp, "let x = 1\n"),
            ],
            snippets);
    }

    [Fact]
    public void Blocks_of_other_languages_and_untagged_blocks_are_not_compiled()
    {
        Assert.Empty(Extract("```text", "var x = 1;", "```", "```", "let x = 1", "```", "```bash", "ls", "```"));
    }

    [Fact]
    public void Aliases_attributes_tildes_and_indented_fences_are_recognised()
    {
        // A list item's fence is indented; a ~~~~ fence holds ``` lines; an info string may carry attributes.
        var snippets = Extract("- a list item:", "  ```cs title=\"x\"", "  var x = 1;", "    var y = 2;", "  ```", "~~~~f#", "```", "let x = 1", "~~~~");

        Assert.Equal(
            [
                new DocsSnippet("docs/a.md", 2, SnippetLanguage.CSharp, "var x = 1;\n  var y = 2;\n"),
                new DocsSnippet("docs/a.md", 6, SnippetLanguage.FSharp, "```\nlet x = 1\n"),
            ],
            snippets);
    }

    [Fact]
    public void Readme_and_docs_are_read_but_not_the_drafts_in_docs_parts()
    {
        var root = Directory.CreateTempSubdirectory("twyla-docs-").FullName;
        try
        {
            Directory.CreateDirectory(Path.Combine(root, "docs", "_parts"));
            Directory.CreateDirectory(Path.Combine(root, "docs", "guides"));
            File.WriteAllText(Path.Combine(root, "README.md"), "```csharp\nvar a = 1;\n```\n");
            File.WriteAllText(Path.Combine(root, "docs", "guides", "b.md"), "```fsharp\nlet b = 1\n```\n");
            File.WriteAllText(Path.Combine(root, "docs", "_parts", "draft.md"), "```csharp\nnot code\n```\n");
            File.WriteAllText(Path.Combine(root, "NOTES.md"), "```csharp\nnot code\n```\n");

            var snippets = DocsSnippets.FromRepository(root);

            Assert.Equal(["README.md:1", "docs/guides/b.md:1"], snippets.Select(s => s.Location));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
