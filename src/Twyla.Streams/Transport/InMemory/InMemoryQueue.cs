using Twyla.Streams.Events;

namespace Twyla.Streams.Transport.InMemory;

/// <summary>
/// A listener queue <c>{pattern}.{group}</c> bound to the in-memory topic exchange with its pattern, and its
/// dead-letter queue. Hands ready messages round-robin to the consumers that have capacity.
/// </summary>
/// <remarks>Not thread-safe on its own: every member is called under the broker's lock.</remarks>
internal sealed class InMemoryQueue
{
    private readonly LinkedList<InMemoryMessage> _ready = new();
    private readonly List<InMemoryConsumerSession> _consumers = [];
    private readonly List<(InMemoryMessage Message, DeadLetter Letter)> _deadLetters = [];
    private int _nextConsumer;

    public InMemoryQueue(ListenerTopology topology)
    {
        Name = topology.QueueName;
        Pattern = topology.Pattern;
        QueueType = topology.QueueType;
    }

    public string Name { get; }

    /// <summary>The binding pattern (AMQP topic rules).</summary>
    public string Pattern { get; }

    public QueueType QueueType { get; }

    /// <summary>Appends a published message and dispatches.</summary>
    public void Enqueue(InMemoryMessage message)
    {
        _ready.AddLast(message);
        Dispatch();
    }

    /// <summary>Puts messages back at the head of the queue, keeping their order (the first stays first), and dispatches.</summary>
    public void Requeue(IReadOnlyList<InMemoryMessage> messages)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            messages[i].Redelivered = true;
            _ready.AddFirst(messages[i]);
        }

        Dispatch();
    }

    /// <summary>Moves a message into the dead-letter queue with its reason.</summary>
    public void DeadLetter(InMemoryMessage message, string reason)
    {
        var body = Events.DeadLetter.BodyText(message.Envelope.Data.Span);
        _deadLetters.Add((message, new DeadLetter(
            message.Envelope.Metadata.Id,
            reason, message.Envelope.Metadata, body, message.RoutingKey, message.DeliveryCount, DateTimeOffset.UtcNow, message.ReplayCount)));
    }

    public int DeadLetterCount => _deadLetters.Count;

    public IReadOnlyList<DeadLetter> ListDeadLetters(int skip, int take) =>
        [.. _deadLetters.Skip(skip).Take(take).Select(d => d.Letter)];

    /// <summary>Moves the dead letters <paramref name="filter"/> accepts to the back of the queue as first deliveries.</summary>
    public int ReplayDeadLetters(Func<DeadLetter, bool> filter)
    {
        var replay = _deadLetters.Where(d => filter(d.Letter)).ToArray();
        foreach (var (message, _) in replay)
        {
            message.DeliveryCount = 0;
            message.Redelivered = false;
            message.LastFailure = null;
            message.ReplayCount++;
            _ready.AddLast(message);
        }

        _deadLetters.RemoveAll(d => replay.Any(r => ReferenceEquals(r.Message, d.Message)));
        Dispatch();
        return replay.Length;
    }

    public int PurgeDeadLetters()
    {
        var count = _deadLetters.Count;
        _deadLetters.Clear();
        return count;
    }

    public void AddConsumer(InMemoryConsumerSession consumer)
    {
        _consumers.Add(consumer);
        Dispatch();
    }

    public void RemoveConsumer(InMemoryConsumerSession consumer)
    {
        var index = _consumers.IndexOf(consumer);
        if (index < 0)
        {
            return;
        }

        _consumers.RemoveAt(index);
        if (index < _nextConsumer)
        {
            _nextConsumer--;
        }

        if (_nextConsumer >= _consumers.Count)
        {
            _nextConsumer = 0;
        }
    }

    /// <summary>Hands ready messages to consumers with capacity, round-robin, until either runs out.</summary>
    public void Dispatch()
    {
        while (_ready.First is { } head)
        {
            var consumer = NextConsumerWithCapacity();
            if (consumer is null)
            {
                return;
            }

            _ready.RemoveFirst();
            consumer.Deliver(head.Value);
        }
    }

    private InMemoryConsumerSession? NextConsumerWithCapacity()
    {
        var count = _consumers.Count;
        for (var i = 0; i < count; i++)
        {
            var index = (_nextConsumer + i) % count;
            var consumer = _consumers[index];
            if (consumer.HasCapacity)
            {
                _nextConsumer = (index + 1) % count;
                return consumer;
            }
        }

        return null;
    }
}
