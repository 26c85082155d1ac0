using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Twyla.Streams.Contracts;

/// <summary>
/// Finds a schema that refers back to itself without consuming any of the payload: a cycle of local <c>$ref</c>s
/// reachable only through in-place applicators (<c>allOf</c>, <c>anyOf</c>, <c>oneOf</c>, <c>not</c>,
/// <c>if</c>/<c>then</c>/<c>else</c>, <c>dependentSchemas</c>, <c>$ref</c>). Evaluating or comparing such a schema never
/// ends; a self-reference through <c>properties</c> or <c>items</c> (a recursive type) consumes a level of the payload
/// and is fine. Walks iteratively, so a hostile document cannot exhaust the stack here.
/// </summary>
internal static class SchemaCycles
{
    private static readonly string[] InPlaceLists = ["allOf", "anyOf", "oneOf"];
    private static readonly string[] InPlaceSingles = ["not", "if", "then", "else"];
    private static readonly string[] SchemaMaps = ["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"];
    private static readonly string[] SchemaSingles =
        ["items", "additionalItems", "additionalProperties", "contains", "propertyNames", "unevaluatedItems", "unevaluatedProperties", "contentSchema", "not", "if", "then", "else"];
    private static readonly string[] SchemaLists = ["allOf", "anyOf", "oneOf", "prefixItems", "items"];
    private static readonly string[] Unfollowable = ["$id", "$anchor", "$dynamicRef", "$dynamicAnchor", "$recursiveRef", "$recursiveAnchor"];

    /// <summary>The reason the schema refers to itself without consuming input, naming where, or null when it does not.</summary>
    public static string? Find(JsonNode root)
    {
        var located = Collect(root);
        var state = new Dictionary<JsonObject, bool>(ReferenceEqualityComparer.Instance); // false: on the path, true: done
        foreach (var (start, _) in located)
        {
            if (state.ContainsKey(start))
            {
                continue;
            }

            var path = new Stack<(JsonObject Node, IEnumerator<JsonObject> Next)>();
            state[start] = false;
            path.Push((start, InPlace(root, start).GetEnumerator()));
            while (path.Count > 0)
            {
                var (node, next) = path.Peek();
                if (!next.MoveNext())
                {
                    state[node] = true;
                    path.Pop();
                    continue;
                }

                var child = next.Current;
                if (!state.TryGetValue(child, out var done))
                {
                    state[child] = false;
                    path.Push((child, InPlace(root, child).GetEnumerator()));
                }
                else if (!done)
                {
                    var at = located.TryGetValue(child, out var pointer) ? pointer : "#";
                    return $"the schema at '{at}' refers to itself without consuming input (a $ref cycle through allOf/anyOf/oneOf/not/if/then/else/dependentSchemas)";
                }
            }
        }

        return null;
    }

    /// <summary>
    /// The reason the schema may reach schemas this class does not follow (so a cycle could hide there), or null: a
    /// <c>$ref</c> that is not local, dynamic or recursive references, anchors, or an <c>$id</c> below the root.
    /// </summary>
    public static string? Unfollowed(JsonNode root)
    {
        foreach (var (schema, pointer) in Collect(root))
        {
            if (schema["$ref"] is { } reference && !(reference is JsonValue v && v.TryGetValue(out string? local) && local.StartsWith('#')))
            {
                return $"the $ref at '{pointer}' is not a local reference (only '#…' references are followed)";
            }

            foreach (var keyword in Unfollowable.Where(schema.ContainsKey))
            {
                if (keyword != "$id" || !ReferenceEquals(schema, root))
                {
                    return $"the schema at '{pointer}' uses '{keyword}', which the pre-emit check does not follow";
                }
            }
        }

        return null;
    }

    /// <summary>Every object schema of the document reachable from its root (through subschemas and local references), with a pointer to it.</summary>
    private static Dictionary<JsonObject, string> Collect(JsonNode root)
    {
        var located = new Dictionary<JsonObject, string>(ReferenceEqualityComparer.Instance);
        var pending = new Stack<(JsonNode? Node, string Pointer)>();
        pending.Push((root, "#"));
        while (pending.Count > 0)
        {
            var (node, pointer) = pending.Pop();
            if (node is not JsonObject schema || !located.TryAdd(schema, pointer))
            {
                continue;
            }

            foreach (var (keyword, value) in schema)
            {
                var at = $"{pointer}/{keyword.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)}";
                if (SchemaMaps.Contains(keyword) && value is JsonObject map)
                {
                    foreach (var (name, sub) in map)
                    {
                        pending.Push((sub, $"{at}/{name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)}"));
                    }
                }
                else if (SchemaLists.Contains(keyword) && value is JsonArray list)
                {
                    for (var i = 0; i < list.Count; i++)
                    {
                        pending.Push((list[i], $"{at}/{i}"));
                    }
                }
                else if (SchemaSingles.Contains(keyword))
                {
                    pending.Push((value, at));
                }
                else if (keyword == "$ref" && Target(root, schema) is { } target)
                {
                    pending.Push((target, value!.GetValue<string>()));
                }
            }
        }

        return located;
    }

    /// <summary>The object schemas <paramref name="schema"/> applies to the same payload location.</summary>
    private static IEnumerable<JsonObject> InPlace(JsonNode root, JsonObject schema)
    {
        foreach (var keyword in InPlaceLists)
        {
            if (schema[keyword] is JsonArray list)
            {
                foreach (var part in list.OfType<JsonObject>())
                {
                    yield return part;
                }
            }
        }

        foreach (var keyword in InPlaceSingles)
        {
            if (schema[keyword] is JsonObject single)
            {
                yield return single;
            }
        }

        if (schema["dependentSchemas"] is JsonObject dependent)
        {
            foreach (var part in dependent.Select(d => d.Value).OfType<JsonObject>())
            {
                yield return part;
            }
        }

        if (Target(root, schema) is JsonObject target)
        {
            yield return target;
        }
    }

    private static JsonNode? Target(JsonNode root, JsonObject schema) =>
        schema["$ref"] is JsonValue reference && reference.TryGetValue(out string? pointer) ? SchemaDocument.Find(root, pointer) : null;

    private sealed class ReferenceEqualityComparer : IEqualityComparer<JsonObject>
    {
        public static readonly ReferenceEqualityComparer Instance = new();

        public bool Equals(JsonObject? x, JsonObject? y) => ReferenceEquals(x, y);

        public int GetHashCode(JsonObject obj) => RuntimeHelpers.GetHashCode(obj);
    }
}
