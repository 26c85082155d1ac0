using System.Text.Json.Nodes;
using System.Text.Json.Schema;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace Twyla.Streams;

/// <summary>
/// The rule that members of F# type <c>option</c> and <c>voption</c> are optional: a payload may leave them out or send
/// <c>null</c> (both read as <c>None</c>/<c>ValueNone</c>), so they are neither required by validation nor listed as
/// required in the exported contract, unless marked <c>[&lt;JsonRequired&gt;]</c>. The types are recognized by name, so the library does not load FSharp.Core.
/// </summary>
internal static class FSharpOptionMembers
{
    /// <summary>A resolver modifier for <see cref="DefaultJsonTypeInfoResolver.Modifiers"/> that applies the rule.</summary>
    /// <param name="typeInfo">The contract of a type being resolved.</param>
    public static void MakeOptional(JsonTypeInfo typeInfo)
    {
        if (typeInfo.Kind != JsonTypeInfoKind.Object)
        {
            return;
        }

        foreach (var property in typeInfo.Properties)
        {
            // Required only when marked so ([<JsonRequired>]); as a constructor parameter of a record it would be.
            if (IsOption(property.PropertyType) && property.AttributeProvider?.IsDefined(typeof(JsonRequiredAttribute), inherit: true) != true)
            {
                property.IsRequired = false;
            }
        }
    }

    /// <summary>
    /// A <see cref="JsonSchemaExporterOptions.TransformSchemaNode"/> that applies the rule to an exported schema: the
    /// exporter lists every constructor parameter of a record as required and gives a <c>voption</c> member the
    /// schema of its value; an option member is removed from <c>required</c> and allows <c>null</c>.
    /// </summary>
    /// <param name="context">Where in the schema the node is.</param>
    /// <param name="schema">The node as exported so far.</param>
    /// <returns>The node with the rule applied.</returns>
    public static JsonNode TransformSchema(JsonSchemaExporterContext context, JsonNode schema)
    {
        if (schema is not JsonObject node)
        {
            return schema;
        }

        // The object this node describes: the type itself, or the value of an option member whose node it is.
        var typeInfo = context.TypeInfo;
        if (IsOption(typeInfo.Type))
        {
            typeInfo = typeInfo.Options.GetTypeInfo(typeInfo.Type.GetGenericArguments()[0]);
        }

        if (typeInfo.Kind == JsonTypeInfoKind.Object && node["required"] is JsonArray required)
        {
            var optional = typeInfo.Properties.Where(p => IsOption(p.PropertyType) && !p.IsRequired).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            for (var i = required.Count - 1; i >= 0; i--)
            {
                if (required[i] is JsonValue name && optional.Contains(name.GetValue<string>()))
                {
                    required.RemoveAt(i);
                }
            }

            if (required.Count == 0)
            {
                node.Remove("required");
            }
        }

        if (context.PropertyInfo is { } property && IsOption(property.PropertyType))
        {
            AllowNull(node);
        }

        return node;
    }

    /// <summary>Whether <paramref name="type"/> is <c>FSharpOption&lt;T&gt;</c> or <c>FSharpValueOption&lt;T&gt;</c>.</summary>
    /// <param name="type">A member's type.</param>
    /// <returns>True for an F# option type.</returns>
    public static bool IsOption(Type type) =>
        type.IsGenericType
        && type.GetGenericTypeDefinition().FullName is "Microsoft.FSharp.Core.FSharpOption`1" or "Microsoft.FSharp.Core.FSharpValueOption`1";

    private static void AllowNull(JsonObject node)
    {
        switch (node["type"])
        {
            case JsonValue type when type.GetValue<string>() != "null":
                node["type"] = new JsonArray(type.GetValue<string>(), "null");
                break;
            case JsonArray types when !types.Any(t => t is JsonValue v && v.GetValue<string>() == "null"):
                types.Add("null");
                break;
        }

        if (node["enum"] is JsonArray values && !values.Any(v => v is null))
        {
            values.Add(null);
        }
    }
}
