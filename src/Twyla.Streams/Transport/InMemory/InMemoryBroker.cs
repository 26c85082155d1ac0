using Twyla.Streams.Contracts;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;

namespace Twyla.Streams.Transport.InMemory;

/// <summary>
/// The embedded broker: one topic exchange, its queues and their consumers, all guarded by one lock
/// (<see cref="Gate"/>). Every operation is short and never calls user code, so one lock keeps it simple and correct.
/// </summary>
internal sealed class InMemoryBroker
{
    private readonly Dictionary<string, InMemoryQueue> _queues = new(StringComparer.Ordinal);
    private readonly Dictionary<string, InMemoryQueue[]> _routes = new(StringComparer.Ordinal);
    private readonly Dictionary<InMemoryConsumerSession, InMemoryTransport> _sessions = [];
    private readonly CancellationTokenSource _stopping = new();
    private Action<InMemoryActivity>[] _observers = [];
    private readonly List<byte[]> _contractLog = [];
    private int _transports = 1;
    private bool _disposed;

    /// <summary>The lock that guards the broker, its queues and its sessions.</summary>
    public Lock Gate { get; } = new();

    public bool IsDisposed
    {
        get
        {
            lock (Gate)
            {
                return _disposed;
            }
        }
    }

    /// <summary>Declares the queue of <paramref name="topology"/> (idempotent), bound with its pattern.</summary>
    public void Declare(ListenerTopology topology)
    {
        lock (Gate)
        {
            ThrowIfDisposed();
            DeclareLocked(topology);
        }
    }

    public InMemoryConsumerSession StartConsumer(ListenerTopology topology, int prefetch, IDeliveryTarget target, InMemoryTransport owner)
    {
        lock (Gate)
        {
            ThrowIfDisposed();
            var queue = DeclareLocked(topology);
            var session = new InMemoryConsumerSession(this, queue, target, prefetch);
            _sessions.Add(session, owner);
            queue.AddConsumer(session);
            return session;
        }
    }

    /// <summary>Routes the envelope to every queue whose pattern matches its name.</summary>
    /// <returns>Why the publish failed, or <c>null</c> when it was confirmed.</returns>
    public Exception? Publish(EventEnvelope envelope, bool mandatory)
    {
        var routingKey = envelope.Metadata.Name;
        lock (Gate)
        {
            if (_disposed)
            {
                return DisposedException();
            }

            var queues = RouteLocked(routingKey);
            if (queues.Length == 0)
            {
                // Unroutable: returned to a mandatory publisher, silently discarded otherwise (as RabbitMQ does).
                return mandatory
                    ? new EmitException(
                        $"The event '{routingKey}' (id {envelope.Metadata.Id}) was returned as unroutable (mandatory emit): " +
                        $"no queue is bound for '{routingKey}' on the in-memory events exchange. Start or declare a listener for it first.")
                    : null;
            }

            foreach (var queue in queues)
            {
                queue.Enqueue(new InMemoryMessage(envelope));
            }
        }

        return null;
    }

    /// <summary>Runs <paramref name="work"/> on the group's queue under the lock; a queue never declared has no dead letters.</summary>
    public TResult OnDeadLetters<TResult>(ListenerTopology topology, Func<InMemoryQueue, TResult> work, TResult none)
    {
        lock (Gate)
        {
            ThrowIfDisposed();
            return _queues.TryGetValue(topology.QueueName, out var queue) ? work(queue) : none;
        }
    }

    /// <summary>
    /// Appends <paramref name="message"/> to <paramref name="queue"/> after <paramref name="delay"/> (at once when zero),
    /// as a RabbitMQ retry queue expires it back; messages still waiting when the broker is disposed are gone with it.
    /// </summary>
    internal void EnqueueLater(InMemoryQueue queue, InMemoryMessage message, TimeSpan delay)
    {
        if (delay <= TimeSpan.Zero)
        {
            queue.Enqueue(message);
            return;
        }

        _ = Task.Delay(delay, _stopping.Token).ContinueWith(
            _ =>
            {
                lock (Gate)
                {
                    if (!_disposed)
                    {
                        queue.Enqueue(message);
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);
    }

    /// <summary>
    /// Calls <paramref name="observer"/> with every delivery, ack, reject and dead letter of every queue until the
    /// returned handle is disposed. It is called under the broker's lock, so it must only hand the activity on
    /// (e.g. write it to a channel).
    /// </summary>
    internal IDisposable Observe(Action<InMemoryActivity> observer)
    {
        ArgumentNullException.ThrowIfNull(observer);
        lock (Gate)
        {
            _observers = [.. _observers, observer];
        }

        return new Observation(this, observer);
    }

    /// <summary>Tells the observers what <paramref name="queue"/> did with <paramref name="message"/> (under the lock).</summary>
    internal void Notify(InMemoryQueue queue, InMemoryActivityKind kind, InMemoryMessage message, string? reason)
    {
        var observers = _observers;
        if (observers.Length == 0)
        {
            return;
        }

        var activity = new InMemoryActivity(queue.Name, kind, message.Envelope.Metadata, message.DeliveryCount, message.Redelivered, reason);
        foreach (var observer in observers)
        {
            observer(activity);
        }
    }

    /// <summary>Forgets a closed session (under the lock).</summary>
    internal void Forget(InMemoryConsumerSession session) => _sessions.Remove(session);

    /// <summary>Appends a record to the contract log (stored as its wire form, as a broker would).</summary>
    public void AppendContract(ContractRecord record)
    {
        var bytes = record.ToBytes();
        lock (Gate)
        {
            ThrowIfDisposed();
            _contractLog.Add(bytes);
        }
    }

    /// <summary>The contract log, oldest first, each record a fresh copy.</summary>
    public IReadOnlyList<ContractRecord> ReadContracts()
    {
        byte[][] log;
        lock (Gate)
        {
            ThrowIfDisposed();
            log = [.. _contractLog];
        }

        return [.. log.Select(b => ContractRecord.Parse(b)).OfType<ContractRecord>()];
    }

    /// <summary>One more transport uses the broker (see <see cref="InMemoryTransport.Beside"/>).</summary>
    public void Retain()
    {
        lock (Gate)
        {
            ThrowIfDisposed();
            _transports++;
        }
    }

    /// <summary>
    /// A transport is done with the broker: its consumers stop; the last one disposes the broker.
    /// </summary>
    public Task ReleaseAsync(InMemoryTransport transport)
    {
        lock (Gate)
        {
            if (_disposed || --_transports <= 0)
            {
                return DisposeAsync();
            }

            return FailAsync([.. _sessions.Where(s => s.Value == transport).Select(s => s.Key)]);
        }
    }

    /// <summary>Fails every live session and waits until each has told its target.</summary>
    public Task DisposeAsync()
    {
        lock (Gate)
        {
            if (_disposed)
            {
                return Task.CompletedTask;
            }

            _disposed = true;
            _stopping.Cancel();
            return FailAsync([.. _sessions.Keys]);
        }
    }

    /// <summary>Fails <paramref name="sessions"/> (under the lock) and waits until each has told its target.</summary>
    private async Task FailAsync(InMemoryConsumerSession[] sessions)
    {
        lock (Gate)
        {
            foreach (var session in sessions)
            {
                session.Fail(new ObjectDisposedException(
                    nameof(InMemoryTransport),
                    "The in-memory transport was disposed (the event bus was disposed), so its consumers stopped."));
            }
        }

        await Task.WhenAll(sessions.Select(s => s.Completion)).ConfigureAwait(false);
    }

    internal static ObjectDisposedException DisposedException() =>
        new(nameof(InMemoryTransport), "The in-memory transport was disposed (the event bus was disposed); it cannot be used any more.");

    private void ThrowIfDisposed()
    {
        if (_disposed)
        {
            throw DisposedException();
        }
    }

    private InMemoryQueue DeclareLocked(ListenerTopology topology)
    {
        if (_queues.TryGetValue(topology.QueueName, out var existing))
        {
            if (existing.QueueType != topology.QueueType)
            {
                throw TopologyConflictException.Create(
                    "queue",
                    existing.Name,
                    "x-queue-type",
                    $"this declaration asks for '{topology.QueueType.XQueueType()}'",
                    $"it exists as '{existing.QueueType.XQueueType()}'",
                    null);
            }

            return existing;
        }

        var queue = new InMemoryQueue(topology);
        _queues.Add(queue.Name, queue);
        _routes.Clear();
        return queue;
    }

    private sealed class Observation(InMemoryBroker broker, Action<InMemoryActivity> observer) : IDisposable
    {
        public void Dispose()
        {
            lock (broker.Gate)
            {
                broker._observers = [.. broker._observers.Where(o => !ReferenceEquals(o, observer))];
            }
        }
    }

    private InMemoryQueue[] RouteLocked(string routingKey)
    {
        if (!_routes.TryGetValue(routingKey, out var queues))
        {
            queues = [.. _queues.Values.Where(q => EventName.Matches(q.Pattern, routingKey))];
            _routes.Add(routingKey, queues);
        }

        return queues;
    }
}
