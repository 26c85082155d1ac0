namespace Twyla.Streams.Contracts;

/// <summary>What the broker knows about one event name: the contracts of the groups that receive it and the versions services emit it with.</summary>
public sealed class DiscoveredContracts
{
    internal DiscoveredContracts(string eventName, IReadOnlyList<GroupContract> groups, IReadOnlyList<ProducerVersion> producers)
    {
        EventName = eventName;
        Groups = groups;
        Producers = producers;
        UnacceptedProducers = groups.Count == 0 ? [] : [.. producers.Where(p => !groups.Any(g => g.Accepts(p.Version)))];
    }

    /// <summary>The event name asked about.</summary>
    public string EventName { get; }

    /// <summary>The announced contracts of the groups whose pattern receives the event and whose queue exists, by service and group.</summary>
    public IReadOnlyList<GroupContract> Groups { get; }

    /// <summary>The versions services emit the event with, by service and version.</summary>
    public IReadOnlyList<ProducerVersion> Producers { get; }

    /// <summary>The producers whose version no group accepts (empty when no group receives the event).</summary>
    public IReadOnlyList<ProducerVersion> UnacceptedProducers { get; }
}
