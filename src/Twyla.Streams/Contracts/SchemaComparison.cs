using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;

namespace Twyla.Streams.Contracts;

/// <summary>
/// One run of <see cref="ContractCompatibility.Check"/>: walks the producer's and the consumer's schemas side by side
/// and records, with its path in the payload, everything the producer may send that the consumer refuses.
/// Scalar rules (types, enums, lengths, bounds) live in <see cref="ScalarRules"/>; this class handles the shape:
/// references, boolean schemas, alternatives, objects and arrays.
/// </summary>
internal sealed class SchemaComparison
{
    private const int MaxDepth = 64;
    private const int MaxComparisons = 100_000;

    /// <summary>Keywords that never reject a payload (annotations and containers of other schemas).</summary>
    private static readonly HashSet<string> Annotations =
    [
        "$schema", "$id", "$anchor", "$comment", "$defs", "definitions", "$ref", "title", "description", "default",
        "examples", "readOnly", "writeOnly", "deprecated", "contentEncoding", "contentMediaType",
    ];

    /// <summary>Assertion keywords this comparison understands; any other one in the consumer must be matched by the producer.</summary>
    private static readonly HashSet<string> Compared =
    [
        "type", "enum", "const", "properties", "required", "additionalProperties", "items", "minItems", "maxItems", "uniqueItems",
        "minLength", "maxLength", "pattern", "format", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
        "anyOf", "allOf",
    ];

    private readonly SchemaDocument _producer;
    private readonly SchemaDocument _consumer;
    private readonly JsonObject _anything = [];
    private readonly JsonNode _nothing = JsonValue.Create(false);
    private readonly List<ContractProblem> _problems = [];
    private int _comparisons;
    private readonly HashSet<(JsonNode Producer, JsonNode Consumer)> _inProgress = new(ReferencePairComparer.Instance);

    private SchemaComparison(JsonNode producer, JsonNode consumer)
    {
        _producer = new SchemaDocument(producer, "producer");
        _consumer = new SchemaDocument(consumer, "consumer");
    }

    /// <summary>The problems of sending payloads valid against <paramref name="producer"/> to a consumer of <paramref name="consumer"/>.</summary>
    public static IReadOnlyList<ContractProblem> Run(JsonNode producer, JsonNode consumer)
    {
        var comparison = new SchemaComparison(producer, consumer);
        var unreadable = new List<ContractProblem>();
        foreach (var (schema, side) in new[] { (producer, "producer"), (consumer, "consumer") })
        {
            if (SchemaCycles.Find(schema) is { } reason)
            {
                unreadable.Add(new ContractProblem("", $"the {side}'s schema cannot be compared: {reason}"));
            }
        }

        if (unreadable.Count > 0)
        {
            return unreadable;
        }

        comparison.Compare(producer, consumer, "", 0);
        return comparison._problems.ToArray();
    }

    private void Report(string path, string reason) => _problems.Add(new ContractProblem(path, reason));

    private static string Child(string path, string name) =>
        $"{path}/{name.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)}";

    private static bool? AsBoolean(JsonNode schema) => schema is JsonValue v && v.TryGetValue(out bool b) ? b : null;

    private static bool IsFalse(JsonNode? schema) => schema is not null && AsBoolean(schema) == false;

    /// <summary>Compares two schemas (absent = <c>true</c>) at <paramref name="path"/>, once per pair on the current branch.</summary>
    private void Compare(JsonNode? producer, JsonNode? consumer, string path, int depth)
    {
        var p = Resolve(producer ?? _anything, _producer, path);
        var c = Resolve(consumer ?? _anything, _consumer, path);
        if (p is null || c is null)
        {
            return;
        }

        if (depth > MaxDepth)
        {
            Report(path, $"the schemas nest deeper than {MaxDepth} levels here; the check stops");
            return;
        }

        if (++_comparisons > MaxComparisons)
        {
            if (_comparisons == MaxComparisons + 1)
            {
                Report(path, $"the schemas need more than {MaxComparisons} comparisons; the check stops here");
            }

            return;
        }

        if (!_inProgress.Add((p, c)))
        {
            return; // a recursive type met again: this pair is already being compared further up
        }

        try
        {
            CompareResolved(p, c, path, depth);
        }
        finally
        {
            _inProgress.Remove((p, c));
        }
    }

    private JsonNode? Resolve(JsonNode schema, SchemaDocument document, string path)
    {
        var resolved = document.Resolve(schema, out var error);
        if (error is not null)
        {
            Report(path, error);
        }

        return resolved;
    }

    private void CompareResolved(JsonNode p, JsonNode c, string path, int depth)
    {
        if (depth > MaxDepth)
        {
            Report(path, $"the schemas nest deeper than {MaxDepth} levels here; the check stops");
            return;
        }

        if (AsBoolean(c) == true || AsBoolean(p) == false)
        {
            return; // the consumer accepts anything, or the producer sends nothing here
        }

        if (AsBoolean(c) == false)
        {
            Report(path, "the consumer accepts no value here (its schema is false); the producer may send one");
            return;
        }

        if (c is not JsonObject cs || (p is not JsonObject && AsBoolean(p) is null))
        {
            Report(path, $"the {(c is JsonObject ? "producer" : "consumer")}'s schema here is neither an object nor true/false");
            return;
        }

        var ps = p as JsonObject ?? _anything;
        if (!SplitProducer(ps, cs, path, depth) && !SplitConsumer(ps, cs, path, depth))
        {
            CompareUnknownKeywords(ps, cs, path);
            CompareAssertions(ps, cs, path, depth);
        }
    }

    /// <summary>A producer's <c>allOf</c> is one schema; each of its <c>anyOf</c>/<c>oneOf</c> branches must satisfy the consumer.</summary>
    private bool SplitProducer(JsonObject ps, JsonObject cs, string path, int depth)
    {
        if (ps["allOf"] is JsonArray parts)
        {
            var merged = parts.Aggregate((JsonNode)Without(ps, "allOf"), (all, part) => Layer(all, part, _producer, path));
            CompareResolved(merged, cs, path, depth + 1);
            return true;
        }

        var branches = ps["anyOf"] as JsonArray ?? ps["oneOf"] as JsonArray;
        if (branches is null)
        {
            return false;
        }

        var siblings = Without(ps, "anyOf", "oneOf");
        foreach (var branch in branches)
        {
            CompareResolved(Layer(siblings, branch, _producer, path), cs, path, depth + 1);
        }

        return true;
    }

    /// <summary>The producer must satisfy every part of a consumer's <c>allOf</c>, and at least one branch of its <c>anyOf</c>.</summary>
    private bool SplitConsumer(JsonObject ps, JsonObject cs, string path, int depth)
    {
        if (cs["allOf"] is JsonArray parts)
        {
            CompareResolved(ps, Without(cs, "allOf"), path, depth + 1);
            foreach (var part in parts)
            {
                Compare(ps, part, path, depth + 1);
            }

            return true;
        }

        if (cs["anyOf"] is not JsonArray branches)
        {
            return false;
        }

        CompareResolved(ps, Without(cs, "anyOf"), path, depth + 1);
        ContractProblem? closest = null;
        var fewest = int.MaxValue;
        foreach (var branch in branches)
        {
            var count = Trial(() => Compare(ps, branch, path, depth + 1), out var first);
            if (count == 0)
            {
                return true;
            }

            if (count < fewest)
            {
                (fewest, closest) = (count, first);
            }
        }

        Report(path, $"none of the consumer's {branches.Count} alternatives (anyOf) accepts everything the producer sends"
            + (closest is null ? "" : $"; the closest fails at {closest}"));
        return true;
    }

    /// <summary>Runs a comparison and takes back what it reported: the number of problems and the first one.</summary>
    private int Trial(Action compare, out ContractProblem? first)
    {
        var before = _problems.Count;
        compare();
        var added = _problems.Count - before;
        first = added > 0 ? _problems[before] : null;
        _problems.RemoveRange(before, added);
        return added;
    }

    private static JsonObject Without(JsonObject schema, params string[] keywords) =>
        (JsonObject)SchemaMerge.Overlay(new JsonObject(), schema, keywords);

    private JsonNode Layer(JsonNode lower, JsonNode? upper, SchemaDocument document, string path) =>
        (upper is null ? null : Resolve(upper, document, path)) switch
        {
            JsonObject obj => SchemaMerge.Overlay(lower, obj),
            JsonNode b when AsBoolean(b) == false => _nothing,
            _ => lower,
        };

    /// <summary>A consumer keyword this check does not compare is accepted only when the producer states the same.</summary>
    private void CompareUnknownKeywords(JsonObject ps, JsonObject cs, string path)
    {
        foreach (var (keyword, value) in cs)
        {
            if (Annotations.Contains(keyword) || Compared.Contains(keyword)
                || (ps.TryGetPropertyValue(keyword, out var same) && JsonNode.DeepEquals(same, value)))
            {
                continue;
            }

            Report(path, $"the consumer's '{keyword}' cannot be compared, and the producer does not state the same '{keyword}'");
        }
    }

    private void CompareAssertions(JsonObject ps, JsonObject cs, string path, int depth)
    {
        if (ScalarRules.FiniteValues(ps) is { } values)
        {
            ScalarRules.CompareValues(values, cs, path, Report);
            return;
        }

        var shared = ScalarRules.CompareTypes(ps, cs, path, Report);
        if (ScalarRules.CompareEnum(cs, shared, path, Report))
        {
            return;
        }

        if ((shared & JsonTypes.String) != 0)
        {
            ScalarRules.CompareStrings(ps, cs, path, Report);
        }

        if ((shared & JsonTypes.Number) != 0)
        {
            ScalarRules.CompareNumbers(ps, cs, shared, path, Report);
        }

        if ((shared & JsonTypes.Object) != 0)
        {
            CompareObjects(ps, cs, path, depth);
        }

        if ((shared & JsonTypes.Array) != 0)
        {
            CompareArrays(ps, cs, path, depth);
        }
    }

    private void CompareObjects(JsonObject ps, JsonObject cs, string path, int depth)
    {
        var pProperties = ps["properties"] as JsonObject ?? _anything;
        var cProperties = cs["properties"] as JsonObject ?? _anything;
        var pOthers = ProducerOthers(ps);
        var cOthers = cs["additionalProperties"] ?? _anything;
        CompareRequired(ps, cs, pProperties, pOthers, path);

        foreach (var (name, pSchema) in pProperties)
        {
            if (IsFalse(pSchema))
            {
                continue;
            }

            if (!cProperties.TryGetPropertyValue(name, out var cSchema) && IsFalse(cOthers))
            {
                Report(Child(path, name), "the producer sends this member, which the consumer does not declare, and the consumer's object is closed (additionalProperties: false)");
                continue;
            }

            Compare(pSchema, cSchema ?? cOthers, Child(path, name), depth + 1);
        }

        if (IsFalse(pOthers))
        {
            return; // the producer sends only the members it declares
        }

        foreach (var (name, cSchema) in cProperties.Where(c => !pProperties.ContainsKey(c.Key)))
        {
            Compare(pOthers, cSchema, Child(path, name), depth + 1);
        }

        if (IsFalse(cOthers))
        {
            Report(path, "the producer may send members it does not declare (additionalProperties), and the consumer's object is closed (additionalProperties: false)");
        }
        else
        {
            Compare(pOthers, cOthers, Child(path, "*"), depth + 1);
        }
    }

    /// <summary>
    /// What the producer may send beyond its declared members: its <c>additionalProperties</c> when stated; nothing
    /// when it declares <c>properties</c> (a serializer writes no others) and no <c>patternProperties</c>; anything for
    /// an untyped object.
    /// </summary>
    private JsonNode ProducerOthers(JsonObject ps) =>
        ps.TryGetPropertyValue("additionalProperties", out var others) ? others ?? _anything
        : ps.ContainsKey("properties") && !ps.ContainsKey("patternProperties") ? _nothing
        : _anything;

    private void CompareRequired(JsonObject ps, JsonObject cs, JsonObject pProperties, JsonNode pOthers, string path)
    {
        var pRequired = ScalarRules.Names(ps["required"]);
        foreach (var name in ScalarRules.Names(cs["required"]).Where(n => !pRequired.Contains(n)))
        {
            var reason = pProperties.ContainsKey(name)
                ? "the consumer requires this member, but it is optional for the producer, which may leave it out"
                : IsFalse(pOthers)
                    ? "the consumer requires this member, but the producer does not send it"
                    : "the consumer requires this member, but the producer does not declare it and may leave it out";
            Report(Child(path, name), reason);
        }
    }

    private void CompareArrays(JsonObject ps, JsonObject cs, string path, int depth)
    {
        ScalarRules.CompareCounts(ps, cs, "minItems", "maxItems", "items", path, Report);
        if (cs["uniqueItems"] is JsonValue u && u.TryGetValue(out bool unique) && unique
            && !(ps["uniqueItems"] is JsonValue pu && pu.TryGetValue(out bool pUnique) && pUnique))
        {
            Report(path, "the consumer requires unique items (uniqueItems), and the producer may repeat items");
        }

        var producerItems = ps.ContainsKey("prefixItems") ? null : ps["items"]; // the first items follow prefixItems, not items
        Compare(producerItems, cs["items"], Child(path, "*"), depth + 1);
    }

    /// <summary>Pairs of schema nodes compared by reference, to find a recursive type met again.</summary>
    private sealed class ReferencePairComparer : IEqualityComparer<(JsonNode Producer, JsonNode Consumer)>
    {
        public static readonly ReferencePairComparer Instance = new();

        public bool Equals((JsonNode Producer, JsonNode Consumer) x, (JsonNode Producer, JsonNode Consumer) y) =>
            ReferenceEquals(x.Producer, y.Producer) && ReferenceEquals(x.Consumer, y.Consumer);

        public int GetHashCode((JsonNode Producer, JsonNode Consumer) obj) =>
            HashCode.Combine(RuntimeHelpers.GetHashCode(obj.Producer), RuntimeHelpers.GetHashCode(obj.Consumer));
    }
}
