using System.Text.Json.Nodes;

namespace Twyla.Streams.Contracts;

/// <summary>
/// One side's schema document: resolves local <c>$ref</c>s (<c>#</c>, <c>#/$defs/Name</c>, any JSON pointer into the
/// document, as System.Text.Json's exporter writes them for repeated and recursive types) against its root.
/// </summary>
internal sealed class SchemaDocument(JsonNode root, string side)
{
    private const int MaxReferenceChain = 32;

    /// <summary>"producer" or "consumer", for problem reasons.</summary>
    public string Side { get; } = side;

    /// <summary>
    /// Follows <paramref name="schema"/>'s <c>$ref</c> chain to the schema it stands for. A <c>$ref</c> with sibling
    /// keywords stands for both (as in draft 2020-12): it resolves to an <c>allOf</c> of the target and the siblings.
    /// </summary>
    /// <returns>The resolved schema, or null with <paramref name="error"/> when a reference does not resolve.</returns>
    public JsonNode? Resolve(JsonNode schema, out string? error)
    {
        error = null;
        for (var hops = 0; hops < MaxReferenceChain; hops++)
        {
            if (schema is not JsonObject obj || obj["$ref"] is not JsonValue reference || !reference.TryGetValue(out string? pointer))
            {
                return schema;
            }

            var target = Find(root, pointer);
            if (target is null)
            {
                error = $"the {Side}'s $ref '{pointer}' does not resolve within its schema (only local references such as '#/$defs/Name' are followed)";
                return null;
            }

            schema = obj.Count == 1
                ? target
                : new JsonObject { ["allOf"] = new JsonArray(target.DeepClone(), SchemaMerge.Overlay(new JsonObject(), obj, "$ref")) };
        }

        error = $"the {Side}'s $ref chain is longer than {MaxReferenceChain} references";
        return null;
    }

    /// <summary>The node a local reference (<c>#</c> or <c>#/json/pointer</c>) names in <paramref name="root"/>, or null.</summary>
    public static JsonNode? Find(JsonNode root, string reference)
    {
        if (!reference.StartsWith('#'))
        {
            return null;
        }

        JsonNode? node = root;
        var pointer = Uri.UnescapeDataString(reference[1..]);
        if (pointer.Length == 0)
        {
            return node;
        }

        if (pointer[0] != '/')
        {
            return null; // an anchor name ("#Foo"): the exporter writes none
        }

        foreach (var token in pointer[1..].Split('/'))
        {
            var name = token.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            node = node switch
            {
                JsonObject obj => obj.TryGetPropertyValue(name, out var child) ? child : null,
                JsonArray array when int.TryParse(name, out var index) && index >= 0 && index < array.Count => array[index],
                _ => null,
            };
            if (node is null)
            {
                return null;
            }
        }

        return node;
    }
}
