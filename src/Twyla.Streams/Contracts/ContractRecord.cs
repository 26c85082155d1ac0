using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Twyla.Streams.Contracts;

/// <summary>
/// One entry of the broker's contract log (its wire form is JSON): a group's contract, a group's retirement, a version a
/// service emits an event with, or a reader's sync marker (how a reader knows it has read the whole log).
/// </summary>
internal sealed record ContractRecord
{
    public const string GroupKind = "group";
    public const string RetiredKind = "retired";
    public const string ProducerKind = "producer";
    public const string SyncKind = "sync";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public required string Kind { get; init; }

    public string? Service { get; init; }

    public string? Pattern { get; init; }

    public string? Group { get; init; }

    public JsonNode? Schema { get; init; }

    public int[]? Versions { get; init; }

    public string? Hash { get; init; }

    public string? EventName { get; init; }

    public int? Version { get; init; }

    public string? Id { get; init; }

    public DateTimeOffset At { get; init; }

    /// <summary>The key of a group's entries: its queue name.</summary>
    [JsonIgnore]
    public string GroupKey => $"{Pattern}.{Group}";

    public static ContractRecord Retired(string pattern, string group, string service) =>
        new() { Kind = RetiredKind, Pattern = pattern, Group = group, Service = service, At = DateTimeOffset.UtcNow };

    public static ContractRecord Producer(string eventName, int version, string service) =>
        new() { Kind = ProducerKind, EventName = eventName, Version = version, Service = service, At = DateTimeOffset.UtcNow };

    public static ContractRecord Sync() =>
        new() { Kind = SyncKind, Id = Guid.NewGuid().ToString("N"), At = DateTimeOffset.UtcNow };

    /// <summary>The hash a group's announcement carries: of its schema and accepted versions (of "*" for a group that accepts anything).</summary>
    public static string ContentHash(JsonNode? schema, IReadOnlyList<int> versions) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schema is null ? "*" : schema.ToJsonString() + "|" + string.Join(",", versions))));

    public byte[] ToBytes() => JsonSerializer.SerializeToUtf8Bytes(this, Json);

    /// <summary>The record in <paramref name="body"/>, or <c>null</c> when it is not one (a foreign or damaged message is skipped).</summary>
    public static ContractRecord? Parse(ReadOnlySpan<byte> body)
    {
        try
        {
            return JsonSerializer.Deserialize<ContractRecord>(body, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
