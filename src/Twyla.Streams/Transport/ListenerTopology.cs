using Twyla.Streams.Events;

namespace Twyla.Streams.Transport;

/// <summary>
/// Where a listener group reads from and what it owns on the broker, every name starting with the queue's:
/// the queue <c>{pattern}.{group}</c> bound to the events exchange with <see cref="Pattern"/>; the group's direct
/// exchange <c>{queue}.router</c>, through which the listener dead-letters, retries and replays (so a service needs
/// no access to the default exchange or to other groups' queues); the dead-letter queue <c>{queue}.dead-letter</c>;
/// and one retry queue <c>{queue}.retry-{delay}</c> per distinct retry delay, whose messages expire back into the queue.
/// </summary>
internal sealed record ListenerTopology(string Pattern, string Group, QueueType QueueType, RetrySchedule Retry)
{
    /// <summary>The router's routing key to the dead-letter queue.</summary>
    public const string DeadLetterKey = "dead-letter";

    /// <summary>The router's routing key back into the group's queue.</summary>
    public const string RequeueKey = "requeue";

    public string QueueName => $"{Pattern}.{Group}";

    /// <summary>
    /// What a consumer start does once the topology is declared and before it consumes (the bus starts announcing the
    /// group's contract with it: once per listener start, never per event); <c>null</c>: nothing.
    /// </summary>
    public Func<CancellationToken, Task>? OnDeclared { get; init; }

    public string DeadLetterQueueName => QueueName + "." + DeadLetterKey;

    public string RouterExchangeName => QueueName + ".router";

    public static ListenerTopology Create(string pattern, string group, QueueType queueType) =>
        Create(pattern, group, queueType, RetrySchedule.Default);

    public static ListenerTopology Create(string pattern, string group, ListenSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return Create(pattern, group, settings.QueueType, settings.Retry);
    }

    public static ListenerTopology Create(string pattern, string group, QueueType queueType, RetrySchedule retry)
    {
        EventName.ValidatePattern(pattern, nameof(pattern));
        ValidateGroup(group);
        return new ListenerTopology(pattern, group, queueType, retry);
    }

    /// <summary>The retry queue of <paramref name="delay"/> (above zero); its routing key on the router is <see cref="RetrySchedule.Name"/>.</summary>
    public string RetryQueueName(TimeSpan delay) => QueueName + "." + RetrySchedule.Name(delay);

    public static void ValidateGroup(string? group)
    {
        if (string.IsNullOrWhiteSpace(group) || group.Length > 100 ||
            !group.All(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '-' or '_'))
        {
            throw new ArgumentException(
                $"'{group}' is not a valid listener group: a group is 1 to 100 lower-case letters, digits, '-' or '_', for example 'billing'.",
                nameof(group));
        }
    }
}
