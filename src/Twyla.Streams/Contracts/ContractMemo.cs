using System.Collections.Concurrent;

namespace Twyla.Streams.Contracts;

/// <summary>
/// What a bus stored in the contract log since the log was last lost, so that it stores a group's unchanged contract
/// once (not at every start of its listeners) and each version it emits once, and can store them all again when the
/// log lost them (<see cref="Forget"/>).
/// </summary>
internal sealed class ContractMemo
{
    private readonly Lock _gate = new();

    /// <summary>The latest contract this bus announced for each group it did not retire since.</summary>
    private readonly Dictionary<string, ContractRecord> _groups = new(StringComparer.Ordinal);

    /// <summary>The group contracts stored, or being stored, since the log was last lost.</summary>
    private readonly Dictionary<string, Attempt> _stored = new(StringComparer.Ordinal);

    /// <summary>The event names and versions noted as emitted since the log was last lost (read without a lock at every emit).</summary>
    private readonly ConcurrentDictionary<(string EventName, int Version), byte> _produced = new();

    /// <summary>The versions noted since this bus started, to note again after a loss.</summary>
    private readonly HashSet<(string EventName, int Version)> _producedEver = [];

    /// <summary>
    /// Notes that a listener of the group of <paramref name="record"/> starts: the attempt to store its contract, or
    /// null when this contract is stored (or being stored) since the log was last lost.
    /// </summary>
    public Attempt? Begin(ContractRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var key = record.GroupKey;
        lock (_gate)
        {
            _groups[key] = record;
            if (_stored.TryGetValue(key, out var current) && current.Hash == record.Hash)
            {
                return null;
            }

            var attempt = new Attempt(key, record.Hash);
            _stored[key] = attempt;
            return attempt;
        }
    }

    /// <summary>The attempt could not store its contract: the group's next listener start tries again (unless a newer attempt runs).</summary>
    public void Failed(Attempt attempt)
    {
        ArgumentNullException.ThrowIfNull(attempt);
        lock (_gate)
        {
            if (_stored.TryGetValue(attempt.Key, out var current) && ReferenceEquals(current, attempt))
            {
                _stored.Remove(attempt.Key);
            }
        }
    }

    /// <summary>The group was retired: nothing of it is remembered (a listener that starts later announces it again).</summary>
    public void Retired(string key)
    {
        lock (_gate)
        {
            _groups.Remove(key);
            _stored.Remove(key);
        }
    }

    /// <summary>Whether <paramref name="eventName"/> with <paramref name="version"/> was not yet noted since the log was last lost.</summary>
    public bool FirstProduced(string eventName, int version)
    {
        if (_produced.ContainsKey((eventName, version)))
        {
            return false; // every emit after the first: no lock
        }

        lock (_gate)
        {
            _producedEver.Add((eventName, version));
            return _produced.TryAdd((eventName, version), 0);
        }
    }

    /// <summary>
    /// The log lost (or may have lost) what this bus stored: forgets it all, so that the next start of each listener and
    /// the next emit of each version store them again, and returns the group contracts and versions this bus had noted
    /// (for storing them again now).
    /// </summary>
    public (IReadOnlyList<ContractRecord> Groups, IReadOnlyList<(string EventName, int Version)> Produced) Forget()
    {
        lock (_gate)
        {
            _stored.Clear();
            _produced.Clear();
            return ([.. _groups.Values], [.. _producedEver]);
        }
    }

    /// <summary>One attempt to store a group's contract.</summary>
    internal sealed class Attempt(string key, string? hash)
    {
        /// <summary>The group (pattern and group).</summary>
        public string Key { get; } = key;

        /// <summary>The content hash of the contract stored.</summary>
        public string? Hash { get; } = hash;
    }
}
