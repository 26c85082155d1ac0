using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Contracts;

/// <summary>
/// A bus's side of the contract log: announces its listener groups' contracts (once per listener start, and only
/// when a group's contract changed since this bus last announced it), notes the versions it emits each event with
/// (once per event name and version), retires groups, and discovers what is on the log. When the transport reports
/// that the log lost what this bus stored (<see cref="IEventTransport.ContractLogLost"/>), it forgets what it stored;
/// when the log was deleted while the bus ran, it also stores every group and version again at once.
/// </summary>
internal sealed class BusContracts
{
    private readonly IEventTransport _transport;
    private readonly EventBusSettings _settings;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<string, byte> _forged = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Type, (JsonNode? Schema, int[] Versions, string Hash)> _types = new();
    private readonly ContractMemo _memo = new();

    public BusContracts(IEventTransport transport, EventBusSettings settings)
    {
        _transport = transport;
        _settings = settings;
        _logger = settings.LoggerFactory.CreateLogger("Twyla.Streams.Contracts");
        transport.ContractLogLost += OnContractLogLost;
    }

    /// <summary>Whether a listener of <paramref name="type"/> accepts any payload (an untyped listener).</summary>
    public static bool IsUntyped(Type type) =>
        type == typeof(JsonElement) || type == typeof(JsonDocument) || type == typeof(object) || typeof(JsonNode).IsAssignableFrom(type);

    /// <summary><paramref name="topology"/>, announcing the contract of a <typeparamref name="T"/> listener when a consumer starts on it.</summary>
    public ListenerTopology Announcing<T>(ListenerTopology topology)
    {
        JsonNode? schema;
        int[] versions;
        string hash;
        try
        {
            (schema, versions, hash) = Describe(typeof(T));
        }
        catch (Exception e) when (e is NotSupportedException or InvalidOperationException or ArgumentException)
        {
            _logger.ContractNotAnnounced(e, topology.QueueName, typeof(T), e.Message);
            return topology;
        }

        var record = new ContractRecord
        {
            Kind = ContractRecord.GroupKind,
            Service = _settings.ServiceName,
            Pattern = topology.Pattern,
            Group = topology.Group,
            Schema = schema,
            Versions = versions,
            Hash = hash,
        };
        return topology with { OnDeclared = _ => AnnounceAsync(record) };
    }

    /// <summary>Notes that this bus emits <paramref name="eventName"/> with <paramref name="version"/>: the first time, in the background.</summary>
    public void NoteProduced(string eventName, int version)
    {
        if (_memo.FirstProduced(eventName, version))
        {
            var record = ContractRecord.Producer(eventName, version, _settings.ServiceName);
            _ = Task.Run(() => AppendQuietlyAsync(record, $"the version {version} of '{eventName}' it emits", CancellationToken.None));
        }
    }

    public async Task RetireAsync(string pattern, string group, CancellationToken cancellationToken)
    {
        var topology = ListenerTopology.Create(pattern, group, QueueType.Classic);
        await _transport.AppendContractAsync(ContractRecord.Retired(pattern, group, _settings.ServiceName), cancellationToken).ConfigureAwait(false);
        _memo.Retired(topology.QueueName);
    }

    public async Task<DiscoveredContracts> DiscoverAsync(string eventName, CancellationToken cancellationToken)
    {
        EventName.Validate(eventName, nameof(eventName));
        var catalog = ContractCatalog.Of(await _transport.ReadContractsAsync(cancellationToken).ConfigureAwait(false), Ignored);
        var groups = await ExistingAsync(catalog.GroupsReceiving(eventName), cancellationToken).ConfigureAwait(false);
        return new DiscoveredContracts(eventName, groups, catalog.ProducersOf(eventName));
    }

    /// <summary>The announced contracts of every group whose queue exists, by pattern, service and group.</summary>
    public async Task<IReadOnlyList<GroupContract>> DiscoverGroupsAsync(CancellationToken cancellationToken)
    {
        var catalog = ContractCatalog.Of(await _transport.ReadContractsAsync(cancellationToken).ConfigureAwait(false), Ignored);
        return await ExistingAsync(catalog.Groups(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Warns, once per announcement, of a group announcement whose hash does not match its content.</summary>
    private void Ignored(ContractRecord record)
    {
        if (_forged.TryAdd($"{record.GroupKey}|{record.Hash}|{record.At:O}", 0))
        {
            _logger.ContractHashMismatch(record.Group, record.Pattern, record.Service);
        }
    }

    /// <summary>The contracts of the announced <paramref name="groups"/> whose queue exists (a deleted queue is a group that is gone).</summary>
    private async Task<IReadOnlyList<GroupContract>> ExistingAsync(IEnumerable<ContractRecord> groups, CancellationToken cancellationToken)
    {
        var existing = new List<GroupContract>();
        foreach (var record in groups)
        {
            var topology = new ListenerTopology(record.Pattern!, record.Group!, QueueType.Classic, RetrySchedule.Default);
            if (await _transport.GroupExistsAsync(topology, cancellationToken).ConfigureAwait(false))
            {
                existing.Add(ContractCatalog.ToContract(record));
            }
        }

        return existing;
    }

    /// <summary>The schema (null: accepts anything), accepted versions and content hash of a listener of <paramref name="type"/>.</summary>
    private (JsonNode? Schema, int[] Versions, string Hash) Describe(Type type) => _types.GetOrAdd(type, t =>
    {
        if (IsUntyped(t))
        {
            return (null, [], ContractRecord.ContentHash(null, []));
        }

        var schema = ContractSchema.For(t, _settings.JsonOptions);
        int[] versions = [.. ContractVersions.AcceptedBy(t)];
        return (schema, versions, ContractRecord.ContentHash(schema, versions));
    });

    /// <summary>
    /// Starts storing the group's contract unless this bus stored it already, and returns at once: a contract log that is
    /// slow or cannot be written (a stream still starting after a broker restart, a missing permission) never delays or
    /// stops a listener. The in-memory log stores it before this returns.
    /// </summary>
    private Task AnnounceAsync(ContractRecord record)
    {
        if (_memo.Begin(record) is { } attempt)
        {
            _ = StoreAsync(record, attempt);
        }

        return Task.CompletedTask;
    }

    private async Task StoreAsync(ContractRecord record, ContractMemo.Attempt attempt)
    {
        if (!await AppendQuietlyAsync(record with { At = DateTimeOffset.UtcNow }, $"the contract of group '{attempt.Key}'", CancellationToken.None).ConfigureAwait(false))
        {
            _memo.Failed(attempt); // the group's next listener start tries again
        }
    }

    /// <summary>
    /// The log lost what this bus stored: it is forgotten, and every group and version of this bus is stored again now
    /// (the first append declares the log again); listeners that start again store theirs too.
    /// </summary>
    private void OnContractLogLost(ContractLogLoss loss)
    {
        var (groups, produced) = _memo.Forget();
        if (loss == ContractLogLoss.Deleted)
        {
            _logger.ContractLogDeleted(_transport.Description, groups.Count);
        }

        // After a lost connection too: a listener whose own connection noticed the loss first has started again and
        // announced before this, and was skipped as stored. Store everything again now; while the broker is still
        // away the appends fail, and each group's next listener start tries again.
        foreach (var group in groups)
        {
            _ = AnnounceAsync(group);
        }

        foreach (var (eventName, version) in produced)
        {
            NoteProduced(eventName, version);
        }
    }

    /// <summary>How often an append that failed is tried again, with <see cref="Backoff"/> from 200 ms to 5 s between.</summary>
    internal const int AppendRetries = 4;

    /// <summary>
    /// Appends to the log, trying again after a failure (a lost connection is replaced on the next try); a failure
    /// that lasts is logged, never thrown: a contract that cannot be stored must not stop a listener or an emit (the
    /// listener announces again at its next start).
    /// </summary>
    private async Task<bool> AppendQuietlyAsync(ContractRecord record, string what, CancellationToken cancellationToken)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                await _transport.AppendContractAsync(record, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
#pragma warning disable CA1031 // logged: announcing is best effort
            catch (Exception e)
#pragma warning restore CA1031
            {
                if (attempt >= AppendRetries)
                {
                    _logger.ContractNotStored(e, what, _transport.Description, e.Message);
                    return false;
                }
            }

            await Task.Delay(Backoff.Delay(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(5), attempt), cancellationToken).ConfigureAwait(false);
        }
    }
}
