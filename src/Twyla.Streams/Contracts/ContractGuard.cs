using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Emit;

namespace Twyla.Streams.Contracts;

/// <summary>
/// The pre-emit check: validates a payload against the schemas of the groups that receive its event, with
/// JsonSchema.Net. The discovered contracts of each event name are cached and refreshed in the background every
/// <see cref="RefreshAfter"/>: only the first check of an event name waits for the broker.
/// </summary>
internal sealed class ContractGuard
{
    /// <summary>How long discovered contracts are used before they are refreshed (in the background).</summary>
    public static readonly TimeSpan RefreshAfter = TimeSpan.FromSeconds(30);

    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.List };

    private readonly Func<string, CancellationToken, Task<DiscoveredContracts>> _discover;
    private readonly JsonSerializerOptions _json;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, JsonSchema?> _compiled = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> _skipped = new(StringComparer.Ordinal);

    public ContractGuard(
        Func<string, CancellationToken, Task<DiscoveredContracts>> discover, JsonSerializerOptions json, ILogger logger, TimeProvider time)
    {
        _discover = discover;
        _json = json;
        _logger = logger;
        _time = time;
    }

    /// <summary>Completes when every group receiving <paramref name="name"/> accepts <paramref name="payload"/>; fails with <see cref="EmitException"/> naming the first that would dead-letter it.</summary>
    public async Task CheckAsync<T>(string name, T payload, CancellationToken cancellationToken)
    {
        var groups = await GroupsAsync(name, cancellationToken).ConfigureAwait(false);
        if (groups.Length == 0)
        {
            return;
        }

        JsonElement instance;
        try
        {
            instance = JsonSerializer.SerializeToElement(payload, _json);
        }
        catch (Exception ex) when (ex is NotSupportedException or JsonException or InvalidOperationException)
        {
            throw new EmitException($"The payload of event '{name}' could not be serialized: {ex.Message}", ex);
        }

        foreach (var group in groups)
        {
            if (group.Schema is null)
            {
                continue;
            }

            EvaluationResults results;
            try
            {
                results = group.Schema.Evaluate(instance, Evaluation);
            }
#pragma warning disable CA1031 // an untrusted schema the check cannot evaluate: the group is skipped, as one it cannot read
            catch (Exception e)
#pragma warning restore CA1031
            {
                Skip(group.Contract, $"it could not be evaluated: {e.Message}");
                continue;
            }

            if (!results.IsValid)
            {
                var contract = group.Contract;
                throw new EmitException(
                    $"Event '{name}' was not emitted: group '{contract.Group}' of service '{contract.Service}' (listening to '{contract.Pattern}') " +
                    $"would dead-letter its payload: {Describe(results, JsonNode.Parse(instance.GetRawText()), contract.Schema!)}.");
            }
        }
    }

    /// <summary>The problems of a failed evaluation, each with the member path it is about.</summary>
    internal static string Describe(EvaluationResults results, JsonNode? instance, JsonNode schema)
    {
        var problems = new List<string>();
        foreach (var detail in (results.Details ?? []).Prepend(results))
        {
            if (detail.Errors is not { Count: > 0 } errors)
            {
                continue;
            }

            var at = detail.InstanceLocation.ToString();
            foreach (var (keyword, message) in errors)
            {
                if (keyword == "required" && MissingMembers(detail, instance, schema) is { Count: > 0 } missing)
                {
                    problems.AddRange(missing.Select(m => $"member '{Join(at, m)}' is required but missing"));
                }
                else
                {
                    problems.Add($"member '{(at.Length == 0 ? "/" : at)}': {message}");
                }
            }
        }

        return problems.Count == 0 ? "it does not match the group's schema" : string.Join("; ", problems.Distinct());
    }

    private static string Join(string at, string member) => $"{at}/{member.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)}";

    /// <summary>The names a <c>required</c> keyword wants and the instance lacks, read from the schema at the keyword's location.</summary>
    private static List<string> MissingMembers(EvaluationResults detail, JsonNode? instance, JsonNode schema)
    {
        // The location is the subschema's or (in some outputs) the keyword's own.
        var located = Navigate(schema, detail.SchemaLocation.Fragment.TrimStart('#'));
        var required = located switch
        {
            JsonArray keyword => keyword,
            JsonObject subschema => subschema["required"] as JsonArray,
            _ => null,
        };
        if (required is null || Navigate(instance, detail.InstanceLocation.ToString()) is not JsonObject obj)
        {
            return [];
        }

        return [.. required.Select(r => r?.GetValue<string>()).OfType<string>().Where(n => !obj.ContainsKey(n))];
    }

    /// <summary>The node at a JSON pointer (RFC 6901), or null.</summary>
    private static JsonNode? Navigate(JsonNode? node, string pointer)
    {
        if (pointer.Length == 0 || pointer == "/")
        {
            return node;
        }

        foreach (var raw in Uri.UnescapeDataString(pointer).TrimStart('/').Split('/'))
        {
            var token = raw.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);
            node = node switch
            {
                JsonObject o => o[token],
                JsonArray a when int.TryParse(token, out var i) && i >= 0 && i < a.Count => a[i],
                _ => null,
            };
        }

        return node;
    }

    private async Task<Compiled[]> GroupsAsync(string name, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_entries.TryGetValue(name, out var entry) && entry.Groups is { } groups)
        {
            if (now - entry.FetchedAt >= RefreshAfter && Interlocked.CompareExchange(ref entry.Refreshing, 1, 0) == 0)
            {
                _ = RefreshAsync(name, entry);
            }

            return groups;
        }

        var fresh = await FetchAsync(name, cancellationToken).ConfigureAwait(false);
        _entries[name] = new Entry { Groups = fresh, FetchedAt = now };
        return fresh;
    }

    private async Task RefreshAsync(string name, Entry stale)
    {
        try
        {
            var fresh = await FetchAsync(name, CancellationToken.None).ConfigureAwait(false);
            _entries[name] = new Entry { Groups = fresh, FetchedAt = _time.GetUtcNow() };
        }
#pragma warning disable CA1031 // the stale contracts stay in use; the next check tries again
        catch (Exception e)
#pragma warning restore CA1031
        {
            _logger.ContractsNotRefreshed(e, name, e.Message);
            Volatile.Write(ref stale.Refreshing, 0);
        }
    }

    private async Task<Compiled[]> FetchAsync(string name, CancellationToken cancellationToken)
    {
        DiscoveredContracts discovered;
        try
        {
            discovered = await _discover(name, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            throw new EmitException($"Event '{name}' was not emitted: its consumers' contracts could not be discovered for the pre-emit check: {e.Message}", e);
        }

        // Compiled once per distinct contract (by its content hash), however often the contracts are refreshed; a
        // contract that cannot be compiled is left out of the check.
        return [.. discovered.Groups.Where(g => g.Schema is not null)
            .Select(g => new Compiled(g, _compiled.GetOrAdd(g.ContentHash, _ => Compile(g))))
            .Where(c => c.Schema is not null)];
    }

    /// <summary>
    /// A validator of the group's schema, or null (logged once) when the schema cannot be evaluated safely:
    /// it refers to itself without consuming input, may reach schemas that check does not follow, or JsonSchema.Net refuses it. Each contract is built with its own
    /// schema registry, so a failed build leaves nothing behind.
    /// </summary>
    private JsonSchema? Compile(GroupContract group)
    {
        var schema = group.Schema!;
        var reason = SchemaCycles.Find(schema) ?? SchemaCycles.Unfollowed(schema);
        if (reason is null)
        {
            try
            {
                var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
                return JsonSchema.FromText(schema.ToJsonString(), options, new Uri($"https://contracts.twyla.invalid/{group.ContentHash}"));
            }
#pragma warning disable CA1031 // any failure to build an untrusted schema makes the contract unreadable
            catch (Exception e)
#pragma warning restore CA1031
            {
                reason = e.Message;
            }
        }

        Skip(group, reason);
        return null;
    }

    private void Skip(GroupContract group, string reason)
    {
        if (_skipped.TryAdd(group.ContentHash, 0))
        {
            _logger.ContractSkipped(group.Group, group.Service, group.Pattern, reason);
        }
    }

    private sealed record Compiled(GroupContract Contract, JsonSchema? Schema);

    private sealed class Entry
    {
        public required Compiled[] Groups { get; init; }

        public required DateTimeOffset FetchedAt { get; init; }

#pragma warning disable SA1401 // a field for Interlocked
        public int Refreshing;
#pragma warning restore SA1401
    }
}
