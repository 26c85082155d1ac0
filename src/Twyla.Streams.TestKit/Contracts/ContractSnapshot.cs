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
