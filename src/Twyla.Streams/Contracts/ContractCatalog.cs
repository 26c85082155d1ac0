using Twyla.Streams.Events;

namespace Twyla.Streams.Contracts;

/// <summary>
/// The state the contract log describes, read in log order: the latest contract of each group (a retirement removes
/// it, a later announcement brings it back) and the versions each service emits each event with.
/// </summary>
internal sealed class ContractCatalog
{
    private readonly Dictionary<string, ContractRecord> _groups = new(StringComparer.Ordinal);
    private readonly Dictionary<(string EventName, string Service, int Version), ContractRecord> _producers = [];

    public static ContractCatalog Of(IEnumerable<ContractRecord> log) => Of(log, _ => { });

    /// <summary>The catalog of <paramref name="log"/>; a group announcement whose hash does not match its schema and versions is left out and passed to <paramref name="ignored"/>.</summary>
    public static ContractCatalog Of(IEnumerable<ContractRecord> log, Action<ContractRecord> ignored)
    {
        var catalog = new ContractCatalog();
        foreach (var record in log)
        {
            if (!catalog.Apply(record))
            {
                ignored(record);
            }
        }

        return catalog;
    }

    /// <summary>Applies one entry of the log; false for a group announcement whose hash does not match its content.</summary>
    public bool Apply(ContractRecord record)
    {
        switch (record.Kind)
        {
            case ContractRecord.GroupKind when record is { Pattern: not null, Group: not null, Service: not null, Hash: not null }:
                if (!string.Equals(record.Hash, ContractRecord.ContentHash(record.Schema, record.Versions ?? []), StringComparison.Ordinal))
                {
                    return false;
                }

                _groups[record.GroupKey] = record;
                break;
            case ContractRecord.RetiredKind when record is { Pattern: not null, Group: not null }:
                _groups.Remove(record.GroupKey);
                break;
            case ContractRecord.ProducerKind when record is { EventName: not null, Service: not null, Version: { } version }:
                _producers.TryAdd((record.EventName, record.Service, version), record);
                break;
            default:
                break; // sync markers and entries of unknown kinds
        }

        return true;
    }

    /// <summary>The latest announcements of the groups whose pattern receives <paramref name="eventName"/>, by service and group.</summary>
    public IReadOnlyList<ContractRecord> GroupsReceiving(string eventName) =>
        [.. _groups.Values
            .Where(r => EventName.IsValidPattern(r.Pattern) && EventName.Matches(r.Pattern!, eventName))
            .OrderBy(r => r.Service, StringComparer.Ordinal)
            .ThenBy(r => r.Group, StringComparer.Ordinal)];

    /// <summary>The latest announcements of every group, by pattern, service and group.</summary>
    public IReadOnlyList<ContractRecord> Groups() =>
        [.. _groups.Values
            .OrderBy(r => r.Pattern, StringComparer.Ordinal)
            .ThenBy(r => r.Service, StringComparer.Ordinal)
            .ThenBy(r => r.Group, StringComparer.Ordinal)];

    /// <summary>The versions services emit <paramref name="eventName"/> with, by service and version.</summary>
    public IReadOnlyList<ProducerVersion> ProducersOf(string eventName) =>
        [.. _producers.Values
            .Where(r => string.Equals(r.EventName, eventName, StringComparison.Ordinal))
            .OrderBy(r => r.Service, StringComparer.Ordinal)
            .ThenBy(r => r.Version)
            .Select(r => new ProducerVersion(r.Service!, r.EventName!, r.Version!.Value, r.At))];

    public static GroupContract ToContract(ContractRecord r) =>
        new(r.Service!, r.Group!, r.Pattern!, r.Schema?.DeepClone(), r.Versions ?? [], r.Hash!, r.At);
}
