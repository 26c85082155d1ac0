using System.Threading.Channels;

namespace Twyla.Streams.Transport.InMemory;

/// <summary>
/// One consumer on an <see cref="InMemoryQueue"/>: at most <c>prefetch</c> unsettled deliveries, tags from 1 up.
/// </summary>
/// <remarks>
/// The unsettled deliveries it keeps are the broker's side of the consumer (what counts against the prefetch and
/// goes back to the queue when the session closes), checked as RabbitMQ checks them: a tag that is not outstanding
/// fails the session. Which deliveries the listener settled is the listen stage's ledger to know.
/// <para>State changes happen under the broker's lock; the target is called only from <see cref="DispatchAsync"/>, a
/// single loop reading an unbounded channel on the thread pool, so deliveries reach it in tag order, outside
/// the lock and never inline in the publisher's or settler's call.</para>
/// </remarks>
internal sealed class InMemoryConsumerSession : IConsumerSession
{
    private readonly InMemoryBroker _broker;
    private readonly InMemoryQueue _queue;
    private readonly IDeliveryTarget _target;
    private readonly int _prefetch;
    private readonly SortedDictionary<ulong, InMemoryMessage> _unsettled = [];
    private readonly List<ulong> _scratchTags = [];
    private readonly Channel<TransportDelivery> _outbox = Channel.CreateUnbounded<TransportDelivery>(
        new UnboundedChannelOptions { SingleReader = true, SingleWriter = false, AllowSynchronousContinuations = false });

    private readonly Task _dispatchLoop;
    private ulong _lastTag;
    private bool _consuming = true;
    private volatile bool _closed;
    private Exception? _failure;

    public InMemoryConsumerSession(InMemoryBroker broker, InMemoryQueue queue, IDeliveryTarget target, int prefetch)
    {
        _broker = broker;
        _queue = queue;
        _target = target;
        _prefetch = prefetch;
        _dispatchLoop = DispatchAsync();
    }

    /// <summary>Whether the queue may hand this consumer another message (under the broker's lock).</summary>
    public bool HasCapacity => _consuming && _unsettled.Count < _prefetch;

    public Task AckAsync(ulong tag, bool multiple, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        lock (_broker.Gate)
        {
            if (_closed)
            {
                return Task.FromException(ClosedException());
            }

            if (multiple && tag == 0)
            {
                // AMQP: multiple with tag 0 settles everything outstanding.
                _unsettled.Clear();
            }
            else if (!_unsettled.ContainsKey(tag))
            {
                FailUnknownTag(tag, multiple ? "basic.ack (multiple)" : "basic.ack");
                return Task.CompletedTask;
            }
            else if (multiple)
            {
                _scratchTags.Clear();
                foreach (var unsettledTag in _unsettled.Keys)
                {
                    if (unsettledTag > tag)
                    {
                        break;
                    }

                    _scratchTags.Add(unsettledTag);
                }

                foreach (var settled in _scratchTags)
                {
                    _unsettled.Remove(settled);
                }
            }
            else
            {
                _unsettled.Remove(tag);
            }

            _queue.Dispatch();
        }

        return Task.CompletedTask;
    }

    /// <summary>Takes the delivery <paramref name="tag"/> of <paramref name="message"/> off the unsettled ones and hands it to <paramref name="settle"/>, under the broker's lock.</summary>
    private Task Settle(ulong tag, InMemoryMessage message, string operation, Action<InMemoryMessage> settle, CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        lock (_broker.Gate)
        {
            if (_closed)
            {
                return Task.FromException(ClosedException());
            }

            // As the broker: a tag settled already is unknown.
            if (!_unsettled.Remove(tag))
            {
                FailUnknownTag(tag, operation);
                return Task.CompletedTask;
            }

            settle(message);
        }

        return Task.CompletedTask;
    }

    public Task StopConsumingAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        lock (_broker.Gate)
        {
            // Idempotent, and a no-op once closed: a closed session delivers nothing anyway.
            if (_consuming && !_closed)
            {
                _consuming = false;
                _queue.RemoveConsumer(this);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Closes the session: unsettled deliveries go back to the queue; waits until the target is called no more.</summary>
    public async ValueTask DisposeAsync()
    {
        lock (_broker.Gate)
        {
            if (!_closed)
            {
                Close(failure: null);
            }
        }

        // The loop only drains what is left without calling the target, then reports a failure if there was one.
        await _dispatchLoop.ConfigureAwait(false);
    }

    /// <summary>Assigns the next tag to <paramref name="message"/> and queues it for the target (under the broker's lock).</summary>
    internal void Deliver(InMemoryMessage message)
    {
        message.DeliveryCount++;
        var tag = ++_lastTag;
        _unsettled.Add(tag, message);
        var delivery = new TransportDelivery(
            tag, message.Envelope, DecodeError: null, message.Redelivered, message.DeliveryCount, message.RoutingKey, message.LastFailure,
            new Delivery(this, tag, message));
        _outbox.Writer.TryWrite(delivery);
    }

    /// <summary>Fails the session (under the broker's lock): it closes like a broker-closed channel and the target hears why.</summary>
    internal void Fail(Exception cause)
    {
        if (!_closed)
        {
            Close(cause);
        }
    }

    /// <summary>The dispatch loop, for the broker to await on shutdown.</summary>
    internal Task Completion => _dispatchLoop;

    private void Close(Exception? failure)
    {
        _closed = true;
        _failure = failure;
        _consuming = false;
        _queue.RemoveConsumer(this);
        if (_unsettled.Count > 0)
        {
            var messages = _unsettled.Values.ToArray();
            _unsettled.Clear();
            _queue.Requeue(messages);
        }

        _outbox.Writer.TryComplete();
        _broker.Forget(this);
    }

    private void FailUnknownTag(ulong tag, string method) =>
        Close(new InvalidOperationException(
            $"PRECONDITION_FAILED - unknown delivery tag {tag} ({method}) on the consumer of queue '{_queue.Name}': " +
            "the delivery was already settled or never delivered on this session, so the broker closed the session " +
            "and its unsettled deliveries went back to the queue."));

    private InvalidOperationException ClosedException()
    {
        if (_failure is ObjectDisposedException disposed)
        {
            return new ObjectDisposedException(nameof(InMemoryTransport), disposed.Message);
        }

        return _failure is null
            ? new InvalidOperationException(
                $"The consumer session on queue '{_queue.Name}' was disposed: its unsettled deliveries went back to the queue and can no longer be settled on it.")
            : new InvalidOperationException(
                $"The consumer session on queue '{_queue.Name}' failed and its unsettled deliveries went back to the queue: {_failure.Message}",
                _failure);
    }

    private async Task DispatchAsync()
    {
        var reader = _outbox.Reader;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out var delivery))
            {
                if (_closed)
                {
                    // Assigned before the session closed; it went back to the queue with the rest.
                    continue;
                }

                try
                {
                    _target.OnDelivery(delivery);
                }
#pragma warning disable CA1031 // A throwing target must not kill the loop silently: it fails the session instead.
                catch (Exception ex)
#pragma warning restore CA1031
                {
                    lock (_broker.Gate)
                    {
                        Fail(new InvalidOperationException(
                            $"The delivery target of the consumer on queue '{_queue.Name}' threw on delivery {delivery.Tag}; the session was closed.",
                            ex));
                    }
                }
            }
        }

        Exception? failure;
        lock (_broker.Gate)
        {
            failure = _failure;
        }

        if (failure is not null)
        {
            try
            {
                _target.OnConsumerFailed(failure);
            }
#pragma warning disable CA1031 // The target must not throw; if it does there is no one left to tell, and disposal must not fail.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    /// <summary>What a delivery keeps for a later reject or drop: its session, its tag and the queue's copy of the message.</summary>
    private sealed class Delivery(InMemoryConsumerSession session, ulong tag, InMemoryMessage message) : IDeliveryHandle
    {
        public Task RejectAsync(TimeSpan delay, string reason, CancellationToken cancellationToken) =>
            session.Settle(
                tag,
                message,
                "retry",
                m =>
                {
                    // As on RabbitMQ: a retried event goes to the back of its queue, after its delay, with its failure.
                    m.LastFailure = reason;
                    m.Redelivered = true;
                    session._broker.EnqueueLater(session._queue, m, delay);
                    session._queue.Dispatch();
                },
                cancellationToken);

        public Task DropAsync(string reason, CancellationToken cancellationToken)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(reason);
            return session.Settle(
                tag,
                message,
                "basic.nack (dead-letter)",
                m =>
                {
                    session._queue.DeadLetter(m, reason);
                    session._queue.Dispatch();
                },
                cancellationToken);
        }
    }
}
