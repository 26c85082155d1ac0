using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Twyla.Streams.Contracts;

/// <summary>
/// The rules of <see cref="ContractCompatibility"/> for one place in the payload, whatever its shape: types,
/// enumerated values, string length, pattern and format, numeric bounds, counts. Each rule reports what a producer may
/// send that the consumer refuses; a stricter producer is always fine.
/// </summary>
internal static class ScalarRules
{
    private static readonly TimeSpan PatternTimeout = TimeSpan.FromSeconds(1);

    /// <summary>The strings of a <c>required</c> list.</summary>
    public static HashSet<string> Names(JsonNode? list) =>
        list is JsonArray array
            ? array.OfType<JsonValue>().Select(v => v.TryGetValue(out string? s) ? s : null).OfType<string>().ToHashSet(StringComparer.Ordinal)
            : [];

    /// <summary>
    /// The values the producer may send when they are few and scalar (<c>const</c>, <c>enum</c>, or only null and
    /// booleans); null when the producer's values are not enumerated.
    /// </summary>
    public static IReadOnlyList<JsonNode?>? FiniteValues(JsonObject producer)
    {
        var types = JsonTypeSet.Of(producer);
        List<JsonNode?>? values = producer.TryGetPropertyValue("const", out var constant) ? [constant]
            : producer["enum"] is JsonArray listed ? [.. listed]
            : null;
        if (values is not null)
        {
            values = values.Where(v => (JsonTypeSet.OfValue(v) & types) != 0).ToList();
            return values.Any(v => JsonTypeSet.OfValue(v) is JsonTypes.Object or JsonTypes.Array) ? null : values;
        }

        if ((types & ~(JsonTypes.Null | JsonTypes.Boolean)) != 0)
        {
            return null;
        }

        values = [];
        if ((types & JsonTypes.Null) != 0)
        {
            values.Add(null);
        }

        if ((types & JsonTypes.Boolean) != 0)
        {
            values.AddRange([JsonValue.Create(true), JsonValue.Create(false)]);
        }

        return values;
    }

    /// <summary>Each value the producer may send must pass every scalar rule of the consumer.</summary>
    public static void CompareValues(IReadOnlyList<JsonNode?> values, JsonObject consumer, string path, Action<string, string> report)
    {
        foreach (var value in values)
        {
            if (Refusal(value, consumer) is { } why)
            {
                report(path, $"the producer may send {Show(value)}, which the consumer refuses: {why}");
            }
        }
    }

    /// <summary>Reports the producer's types the consumer does not accept; returns the types both allow.</summary>
    public static JsonTypes CompareTypes(JsonObject producer, JsonObject consumer, string path, Action<string, string> report)
    {
        var sent = JsonTypeSet.Of(producer);
        var accepted = JsonTypeSet.Of(consumer);
        var refused = sent & ~accepted;
        if (refused != JsonTypes.None)
        {
            var hint = refused == JsonTypes.Fraction ? " (type: an integer is a number, a number is not an integer)"
                : refused == JsonTypes.Null ? " (type: not nullable for the consumer)"
                : " (type)";
            report(path, $"the producer may send {JsonTypeSet.Describe(refused)}, and the consumer accepts only {JsonTypeSet.Describe(accepted)}{hint}");
        }

        return sent & accepted;
    }

    /// <summary>A consumer that lists its values (<c>enum</c>/<c>const</c>) refuses a producer that does not: true when reported.</summary>
    public static bool CompareEnum(JsonObject consumer, JsonTypes shared, string path, Action<string, string> report)
    {
        var keyword = consumer.ContainsKey("const") ? "const" : consumer["enum"] is JsonArray ? "enum" : null;
        if (keyword is null || shared == JsonTypes.None)
        {
            return false;
        }

        report(path, $"the consumer accepts only {Allowed(consumer)} ({keyword}), and the producer lists no values, so it may send other {JsonTypeSet.Describe(shared)}");
        return true;
    }

    /// <summary>Length, <c>pattern</c> and <c>format</c> of strings.</summary>
    public static void CompareStrings(JsonObject producer, JsonObject consumer, string path, Action<string, string> report)
    {
        CompareCounts(producer, consumer, "minLength", "maxLength", "characters", path, report);
        foreach (var keyword in (string[])["pattern", "format"])
        {
            if (consumer[keyword] is not { } required || JsonNode.DeepEquals(producer[keyword], required))
            {
                continue;
            }

            var stated = producer[keyword] is { } other ? $"states {other.ToJsonString()}" : $"states no {keyword}";
            report(path, $"the consumer requires the {keyword} {required.ToJsonString()} for strings; the producer {stated}");
        }
    }

    /// <summary>Numeric bounds (a producer within the consumer's range is fine) and <c>multipleOf</c>.</summary>
    public static void CompareNumbers(JsonObject producer, JsonObject consumer, JsonTypes shared, string path, Action<string, string> report)
    {
        foreach (var lower in (bool[])[true, false])
        {
            if (Bound.Of(consumer, lower) is not { } required)
            {
                continue;
            }

            var allowed = Bound.Of(producer, lower);
            if (allowed is { } a && required.Holds(a, lower))
            {
                continue;
            }

            var keyword = lower ? "minimum" : "maximum";
            var stated = allowed is { } b ? $"allows {b.Show(lower)}" : $"states no {keyword}";
            report(path, $"the consumer requires {required.Show(lower)} ({keyword}); the producer {stated}");
        }

        if (Read(consumer, "multipleOf") is { } step)
        {
            var producerStep = Read(producer, "multipleOf") ?? ((shared & JsonTypes.Fraction) == 0 ? 1 : null);
            if (producerStep is not { } s || !IsMultiple(s, step))
            {
                report(path, $"the consumer requires multiples of {Format(step)} (multipleOf); the producer {(producerStep is { } p ? $"sends multiples of {Format(p)}" : "states no multipleOf")}");
            }
        }
    }

    /// <summary>A minimum and maximum count (string length, array items): the producer's range must lie within the consumer's.</summary>
    public static void CompareCounts(JsonObject producer, JsonObject consumer, string minKeyword, string maxKeyword, string unit, string path, Action<string, string> report)
    {
        if (Read(consumer, minKeyword) is { } min && (Read(producer, minKeyword) ?? 0) is var producerMin && producerMin < min)
        {
            report(path, $"the consumer requires at least {Format(min)} {unit} ({minKeyword}); the producer allows {Format(producerMin)}");
        }

        if (Read(consumer, maxKeyword) is { } max && Read(producer, maxKeyword) is var producerMax && !(producerMax <= max))
        {
            var stated = producerMax is { } p ? $"allows up to {Format(p)}" : $"states no {maxKeyword}";
            report(path, $"the consumer allows at most {Format(max)} {unit} ({maxKeyword}); the producer {stated}");
        }
    }

    private static string? Refusal(JsonNode? value, JsonObject consumer)
    {
        var type = JsonTypeSet.OfValue(value);
        var accepted = JsonTypeSet.Of(consumer);
        if ((type & accepted) == 0)
        {
            return $"it accepts only {JsonTypeSet.Describe(accepted)} (type)";
        }

        if ((consumer.ContainsKey("const") || consumer["enum"] is JsonArray) && !Listed(consumer).Any(a => JsonNode.DeepEquals(a, value)))
        {
            return $"it accepts only {Allowed(consumer)}";
        }

        return type switch
        {
            JsonTypes.String => StringRefusal(value!.GetValue<string>(), consumer),
            JsonTypes.Integer or JsonTypes.Fraction => NumberRefusal(JsonTypeSet.ToDouble(value!), consumer),
            _ => null,
        };
    }

    private static string? StringRefusal(string value, JsonObject consumer)
    {
        var length = value.EnumerateRunes().Count();
        if (Read(consumer, "minLength") is { } min && length < min)
        {
            return $"it requires at least {Format(min)} characters (minLength)";
        }

        if (Read(consumer, "maxLength") is { } max && length > max)
        {
            return $"it allows at most {Format(max)} characters (maxLength)";
        }

        if (consumer["format"] is { } format)
        {
            return $"it requires the format {format.ToJsonString()}, which the check does not evaluate for a value";
        }

        return consumer["pattern"] is JsonValue p && p.TryGetValue(out string? pattern) && !Matches(value, pattern)
            ? $"it does not match the pattern \"{pattern}\""
            : null;
    }

    private static bool Matches(string value, string pattern)
    {
        try
        {
            return Regex.IsMatch(value, pattern, RegexOptions.None, PatternTimeout);
        }
        catch (Exception ex) when (ex is ArgumentException or RegexMatchTimeoutException)
        {
            return false;
        }
    }

    private static string? NumberRefusal(double value, JsonObject consumer)
    {
        foreach (var lower in (bool[])[true, false])
        {
            if (Bound.Of(consumer, lower) is { } bound && !bound.Admits(value, lower))
            {
                return $"it requires {bound.Show(lower)} ({(lower ? "minimum" : "maximum")})";
            }
        }

        return Read(consumer, "multipleOf") is { } step && !IsMultiple(value, step) ? $"it requires multiples of {Format(step)} (multipleOf)" : null;
    }

    private static IEnumerable<JsonNode?> Listed(JsonObject consumer)
    {
        if (consumer.TryGetPropertyValue("const", out var constant))
        {
            return [constant];
        }

        return consumer["enum"] as IEnumerable<JsonNode?> ?? [];
    }

    private static string Allowed(JsonObject consumer) => string.Join(", ", Listed(consumer).Select(Show));

    private static string Show(JsonNode? value) => value?.ToJsonString() ?? "null";

    private static double? Read(JsonObject schema, string keyword) =>
        schema[keyword] is JsonValue v && v.GetValueKind() == JsonValueKind.Number ? JsonTypeSet.ToDouble(v) : null;

    private static bool IsMultiple(double value, double step)
    {
        var ratio = value / step;
        return Math.Abs(ratio - Math.Round(ratio)) < 1e-9;
    }

    private static string Format(double number) => number.ToString(CultureInfo.InvariantCulture);

    /// <summary>One side of a numeric range: <c>minimum</c>/<c>exclusiveMinimum</c> or <c>maximum</c>/<c>exclusiveMaximum</c>, the tighter one.</summary>
    private readonly record struct Bound(double Value, bool Exclusive)
    {
        public static Bound? Of(JsonObject schema, bool lower)
        {
            var inclusive = Read(schema, lower ? "minimum" : "maximum") is { } i ? new Bound(i, false) : (Bound?)null;
            var exclusive = Read(schema, lower ? "exclusiveMinimum" : "exclusiveMaximum") is { } e ? new Bound(e, true) : (Bound?)null;
            if (inclusive is not { } a || exclusive is not { } b)
            {
                return inclusive ?? exclusive;
            }

            return a.Value == b.Value ? b : (lower == (a.Value > b.Value) ? a : b);
        }

        /// <summary>True when every number within <paramref name="other"/> is within this bound.</summary>
        public bool Holds(Bound other, bool lower) =>
            (lower ? other.Value > Value : other.Value < Value) || (other.Value == Value && (other.Exclusive || !Exclusive));

        public bool Admits(double value, bool lower) =>
            lower ? (Exclusive ? value > Value : value >= Value) : (Exclusive ? value < Value : value <= Value);

        public string Show(bool lower) => $"{(lower ? ">" : "<")}{(Exclusive ? "" : "=")} {Format(Value)}";
    }
}
