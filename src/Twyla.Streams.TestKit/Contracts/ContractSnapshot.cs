using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Twyla.Streams.TestKit.Contracts;

/// <summary>
/// A contract pinned in a file of the repository: the JSON Schema as <see cref="Twyla.Streams.Contracts.ContractSchema"/>
/// writes it, indented, so a change to it shows in review as a diff.
/// </summary>
internal static class ContractSnapshot
{
    private static readonly JsonSerializerOptions Indented = new()
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // patterns and text stay readable in the file
    };

    /// <summary>True when <see cref="ContractAssert.UpdateVariable"/> asks to rewrite snapshots.</summary>
    public static bool UpdateRequested =>
        Environment.GetEnvironmentVariable(ContractAssert.UpdateVariable) is { } value
        && (value == "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase));

    /// <summary>
    /// Refuses a path under <c>/_/</c> (or <c>/_1/</c>, ...): that is where a deterministic CI build
    /// (<c>ContinuousIntegrationBuild=true</c>) maps source paths, so a path built from <c>[CallerFilePath]</c> or
    /// <c>__SOURCE_DIRECTORY__</c> no longer points into the repository there. Without this the snapshot would be
    /// reported missing (or written into <c>/_/</c>) on CI only.
    /// </summary>
    public static void RefuseMappedSourcePath(string path)
    {
        var normalized = path.Replace('\\', '/');
        var firstSegment = normalized.StartsWith('/') ? normalized[1..].Split('/')[0] : null;
        if (firstSegment is not null && firstSegment.StartsWith('_') && firstSegment[1..].All(char.IsAsciiDigit))
        {
            throw new ContractAssertException(
                $"The contract snapshot path {path} is a mapped source path: this build maps source paths to /{firstSegment}/ "
                + "(ContinuousIntegrationBuild=true, often set on CI), so a path built from [CallerFilePath] or __SOURCE_DIRECTORY__ "
                + "does not point into your repository. Build the path from AppContext.BaseDirectory instead: walk up to the folder holding your test project file.");
        }
    }

    /// <summary>The schema in <paramref name="path"/>.</summary>
    public static JsonNode Read(string path)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllText(path)) ?? throw new ContractAssertException($"The contract snapshot {path} holds null, not a JSON Schema.");
        }
        catch (JsonException ex)
        {
            throw new ContractAssertException($"The contract snapshot {path} is not valid JSON: {ex.Message}", ex);
        }
    }

    /// <summary>Writes <paramref name="schema"/> to <paramref name="path"/>, creating its folder.</summary>
    public static void Write(string path, JsonNode schema)
    {
        var folder = Path.GetDirectoryName(Path.GetFullPath(path));
        if (folder is not null)
        {
            Directory.CreateDirectory(folder);
        }

        File.WriteAllText(path, schema.ToJsonString(Indented).ReplaceLineEndings("\n") + "\n");
    }
}
