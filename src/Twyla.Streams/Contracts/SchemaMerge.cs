using System.Text.Json.Nodes;

namespace Twyla.Streams.Contracts;

/// <summary>
/// Lays one schema's keywords over another's, for what a producer sends: an <c>anyOf</c> branch with the keywords
/// beside it, the parts of an <c>allOf</c>: <c>required</c> lists and <c>properties</c> are united, any other
/// keyword of the upper schema replaces the lower one's (each constraint of the result comes from one of the two, so the
/// result allows at least what both together allow). Over an empty schema it copies a schema without some keywords.
/// The inputs are not changed.
/// </summary>
internal static class SchemaMerge
{
    /// <summary>The keywords of <paramref name="lower"/> with those of <paramref name="upper"/> laid over them.</summary>
    /// <param name="lower">The schema underneath (a boolean schema counts as <c>{}</c> or as <c>false</c>).</param>
    /// <param name="upper">The schema on top.</param>
    /// <param name="except">Keywords of <paramref name="upper"/> to leave out (the one being resolved).</param>
    /// <returns>A new schema.</returns>
    public static JsonNode Overlay(JsonNode lower, JsonObject upper, params string[] except)
    {
        if (lower is JsonValue v && v.TryGetValue(out bool accepts) && !accepts)
        {
            return JsonValue.Create(false);
        }

        var merged = lower is JsonObject obj ? (JsonObject)obj.DeepClone() : [];
        foreach (var (keyword, value) in upper)
        {
            if (except.Contains(keyword))
            {
                continue;
            }

            merged[keyword] = keyword switch
            {
                "required" => Union(merged[keyword] as JsonArray, value as JsonArray),
                "properties" => MergeProperties(merged[keyword] as JsonObject, value as JsonObject),
                _ => value?.DeepClone(),
            };
        }

        return merged;
    }

    private static JsonArray Union(JsonArray? lower, JsonArray? upper)
    {
        var names = (lower ?? []).Concat(upper ?? []).OfType<JsonValue>().Select(n => n.GetValue<string>()).Distinct(StringComparer.Ordinal);
        return new JsonArray([.. names.Select(n => (JsonNode?)JsonValue.Create(n))]);
    }

    private static JsonObject MergeProperties(JsonObject? lower, JsonObject? upper)
    {
        var merged = (JsonObject?)lower?.DeepClone() ?? [];
        foreach (var (name, schema) in upper ?? [])
        {
            merged[name] = schema?.DeepClone();
        }

        return merged;
    }
}
