namespace Twyla.Streams.DocsTests;

/// <summary>The language a fenced block is compiled as.</summary>
public enum SnippetLanguage
{
    CSharp,
    FSharp,
}

/// <summary>One fenced C# or F# block of a Markdown file.</summary>
/// <param name="File">The file, relative to the repository root, with '/' separators.</param>
/// <param name="Line">The 1-based line of the opening fence.</param>
/// <param name="Language">What the block is compiled as.</param>
/// <param name="Code">The block's lines, without the fences and without the fence's indentation.</param>
public sealed record DocsSnippet(string File, int Line, SnippetLanguage Language, string Code)
{
    /// <summary><c>file:line</c> of the opening fence: the test case's name.</summary>
    public string Location => $"{File}:{Line}";

    /// <summary><c>file:line</c> of a line of the code (1-based within the block).</summary>
    public string LocationOf(int codeLine) => $"{File}:{Line + codeLine}";
}

/// <summary>
/// Finds the fenced code blocks of the docs: README.md and every <c>docs/**/*.md</c> except the drafts in
/// <c>docs/_parts/</c>. A block whose info string starts with <c>csharp</c>, <c>cs</c> or <c>c#</c> is C#;
/// <c>fsharp</c>, <c>fs</c> or <c>f#</c> is F#; other blocks (text, bash, json, ...) are not compiled.
/// </summary>
public static class DocsSnippets
{
    private static readonly Lazy<IReadOnlyList<DocsSnippet>> AllSnippets = new(() => FromRepository(RepositoryRoot.Find()));

    /// <summary>Every C# and F# block of this repository's docs.</summary>
    public static IReadOnlyList<DocsSnippet> All => AllSnippets.Value;

    /// <summary>The blocks of the docs under <paramref name="root"/>, in file and line order.</summary>
    public static IReadOnlyList<DocsSnippet> FromRepository(string root)
    {
        var files = new List<string>();
        var readme = Path.Combine(root, "README.md");
        if (File.Exists(readme))
        {
            files.Add(readme);
        }

        var docs = Path.Combine(root, "docs");
        if (Directory.Exists(docs))
        {
            files.AddRange(Directory.EnumerateFiles(docs, "*.md", SearchOption.AllDirectories)
                .Where(f => !Relative(root, f).StartsWith("docs/_parts/", StringComparison.Ordinal))
                .Order(StringComparer.Ordinal));
        }

        return [.. files.SelectMany(f => Extract(Relative(root, f), File.ReadAllText(f)))];
    }

    /// <summary>The C# and F# blocks of one Markdown text (CommonMark fences: ``` or ~~~, three or more).</summary>
    public static IEnumerable<DocsSnippet> Extract(string file, string markdown)
    {
        ArgumentNullException.ThrowIfNull(markdown);
        var lines = markdown.ReplaceLineEndings("\n").Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (!TryOpenFence(lines[i], out var indent, out var fence, out var info))
            {
                continue;
            }

            var open = i;
            var body = new List<string>();
            for (i++; i < lines.Length && !IsCloseFence(lines[i], fence); i++)
            {
                body.Add(Unindent(lines[i], indent));
            }

            if (Language(info) is { } language)
            {
                yield return new DocsSnippet(file, open + 1, language, string.Join('\n', body) + "\n");
            }
        }
    }

    private static SnippetLanguage? Language(string info)
    {
        var tag = info.Split([' ', '\t', '{', ','], 2, StringSplitOptions.RemoveEmptyEntries).FirstOrDefault()?.ToLowerInvariant();
        return tag switch
        {
            "csharp" or "cs" or "c#" => SnippetLanguage.CSharp,
            "fsharp" or "fs" or "f#" => SnippetLanguage.FSharp,
            _ => null,
        };
    }

    private static bool TryOpenFence(string line, out int indent, out string fence, out string info)
    {
        indent = line.Length - line.TrimStart(' ').Length;
        var rest = line[indent..];
        var marker = rest.Length > 0 ? rest[0] : '\0';
        var length = marker is '`' or '~' ? rest.TakeWhile(c => c == marker).Count() : 0;
        fence = new string(marker, length);
        info = length >= 3 ? rest[length..].Trim() : "";
        return indent <= 3 && length >= 3 && !(marker == '`' && info.Contains('`', StringComparison.Ordinal));
    }

    private static bool IsCloseFence(string line, string fence)
    {
        var trimmed = line.Trim();
        return trimmed.Length >= fence.Length && trimmed.All(c => c == fence[0]);
    }

    private static string Unindent(string line, int indent)
    {
        var spaces = line.Length - line.TrimStart(' ').Length;
        return line[Math.Min(indent, spaces)..];
    }

    private static string Relative(string root, string path) => Path.GetRelativePath(root, path).Replace('\\', '/');
}

/// <summary>The repository's root: the nearest folder above the tests' output holding Twyla.Streams.sln.</summary>
public static class RepositoryRoot
{
    /// <summary>Walks up from the test's output folder to the folder that holds <c>Twyla.Streams.sln</c>.</summary>
    public static string Find()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Twyla.Streams.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Twyla.Streams.sln in {AppContext.BaseDirectory} or any folder above it.");
    }
}
