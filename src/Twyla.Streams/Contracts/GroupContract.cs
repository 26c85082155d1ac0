using System.Text.Json.Nodes;

namespace Twyla.Streams.Contracts;

/// <summary>
/// The contract a listener group announced: what its listeners accept of the events its pattern receives.
/// Returned by <see cref="EventBus.DiscoverContractsAsync(string)"/>.
/// </summary>
public sealed class GroupContract
{
    internal GroupContract(
        string service, string group, string pattern, JsonNode? schema, IReadOnlyList<int> versions, string contentHash, DateTimeOffset announcedAt)
    {
        Service = service;
        Group = group;
        Pattern = pattern;
        Schema = schema;
        Versions = versions;
        ContentHash = contentHash;
        AnnouncedAt = announcedAt;
    }

    /// <summary>The service that announced it (<see cref="EventBusSettings.ServiceName"/> of its bus).</summary>
    public string Service { get; }

    /// <summary>The listener group.</summary>
    public string Group { get; }

    /// <summary>The event name or pattern the group listens to.</summary>
    public string Pattern { get; }

    /// <summary>
    /// The JSON Schema of the group's payload contract as the bus validates it (see <see cref="ContractSchema"/>), or
    /// <c>null</c> when the group accepts any payload (a listener of <c>JsonElement</c>, <c>JsonObject</c> or <c>JsonNode</c>).
    /// </summary>
    public JsonNode? Schema { get; }

    /// <summary>Whether the group accepts any payload and any version (an untyped listener).</summary>
    public bool AcceptsAnything => Schema is null;

    /// <summary>The data versions the group accepts, ascending; empty when it accepts any (<see cref="AcceptsAnything"/>).</summary>
    public IReadOnlyList<int> Versions { get; }

    /// <summary>A hash of the schema and the versions: equal hashes, equal contracts.</summary>
    public string ContentHash { get; }

    /// <summary>When the contract was announced (a listener of the group started with it).</summary>
    public DateTimeOffset AnnouncedAt { get; }

    /// <summary>Whether the group accepts events of data version <paramref name="version"/>.</summary>
    /// <param name="version">A data version.</param>
    /// <returns><c>true</c> when it accepts anything or lists the version.</returns>
    public bool Accepts(int version) => AcceptsAnything || Versions.Contains(version);

    /// <inheritdoc />
    public override string ToString() =>
        $"{Service}/{Group} on '{Pattern}' (versions {(AcceptsAnything ? "any" : string.Join(", ", Versions))}, {(AcceptsAnything ? "any payload" : "hash " + ContentHash[..12])})";
}
