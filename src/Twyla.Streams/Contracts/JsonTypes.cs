using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Twyla.Streams.Contracts;

/// <summary>The JSON types a schema allows, with numbers split so that "integer is a number, not the reverse" is a subset test.</summary>
[Flags]
internal enum JsonTypes
{
    None = 0,
    Null = 1,
    Boolean = 2,
    Object = 4,
    Array = 8,
    String = 16,
    Integer = 32,
    Fraction = 64, // a number that is not an integer
    Number = Integer | Fraction,
    Any = Null | Boolean | Object | Array | String | Number,
}

/// <summary>Reads the <c>type</c> keyword and the type of a value; describes a set of types in words.</summary>
internal static class JsonTypeSet
{
    private static readonly (JsonTypes Type, string Word)[] Words =
    [
        (JsonTypes.Null, "null"), (JsonTypes.Boolean, "booleans"), (JsonTypes.Object, "objects"), (JsonTypes.Array, "arrays"),
        (JsonTypes.String, "strings"), (JsonTypes.Integer, "integers"), (JsonTypes.Fraction, "non-integer numbers"),
    ];

    /// <summary>The types <paramref name="schema"/>'s <c>type</c> keyword allows; all of them without one.</summary>
    public static JsonTypes Of(JsonObject schema) => schema["type"] switch
    {
        JsonValue single when single.TryGetValue(out string? name) => Parse(name),
        JsonArray names => names.Aggregate(JsonTypes.None, (all, n) => all | (n is JsonValue v && v.TryGetValue(out string? name) ? Parse(name) : JsonTypes.None)),
        _ => JsonTypes.Any,
    };

    /// <summary>The type of one value (<c>null</c> is the JSON null).</summary>
    public static JsonTypes OfValue(JsonNode? value) => value?.GetValueKind() switch
    {
        null or JsonValueKind.Null => JsonTypes.Null,
        JsonValueKind.True or JsonValueKind.False => JsonTypes.Boolean,
        JsonValueKind.Object => JsonTypes.Object,
        JsonValueKind.Array => JsonTypes.Array,
        JsonValueKind.String => JsonTypes.String,
        _ => IsInteger(ToDouble(value!)) ? JsonTypes.Integer : JsonTypes.Fraction,
    };

    /// <summary>"null or strings", "any JSON value".</summary>
    public static string Describe(JsonTypes types)
    {
        if (types == JsonTypes.Any)
        {
            return "any JSON value";
        }

        var allNumbers = (types & JsonTypes.Number) == JsonTypes.Number;
        var words = Words.Where(w => (types & w.Type) != 0 && !(allNumbers && (w.Type & JsonTypes.Number) != 0)).Select(w => w.Word).ToList();
        if (allNumbers)
        {
            words.Add("numbers");
        }

        return words.Count switch
        {
            0 => "nothing",
            1 => words[0],
            _ => $"{string.Join(", ", words[..^1])} or {words[^1]}",
        };
    }

    /// <summary>A JSON number as a double, whatever CLR value a <see cref="JsonValue"/> wraps.</summary>
    public static double ToDouble(JsonNode number) => double.Parse(number.ToJsonString(), NumberStyles.Float, CultureInfo.InvariantCulture);

    private static bool IsInteger(double number) => Math.Floor(number) == number && !double.IsInfinity(number);

    private static JsonTypes Parse(string? name) => name switch
    {
        "null" => JsonTypes.Null,
        "boolean" => JsonTypes.Boolean,
        "object" => JsonTypes.Object,
        "array" => JsonTypes.Array,
        "string" => JsonTypes.String,
        "integer" => JsonTypes.Integer,
        "number" => JsonTypes.Number,
        _ => JsonTypes.None,
    };
}
