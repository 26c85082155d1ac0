using Twyla.Streams.Events;

namespace Twyla.Streams.Transport;

/// <summary>
/// Where a listener group reads from: the queue <c>{pattern}.{group}</c> bound to the events exchange
/// with <see cref="Pattern"/>, dead-lettering to <c>{queue}.dead-letter</c>.
/// </summary>
internal sealed record ListenerTopology(string Pattern, string Group, QueueType QueueType)
{
    public string QueueName => $"{Pattern}.{Group}";

    public string DeadLetterQueueName => QueueName + ".dead-letter";

    public static ListenerTopology Create(string pattern, string group, QueueType queueType)
    {
        EventName.ValidatePattern(pattern, nameof(pattern));
        ValidateGroup(group);
        return new ListenerTopology(pattern, group, queueType);
    }

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
