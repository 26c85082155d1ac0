using Twyla.Streams.Events;

namespace Twyla.Streams.Transport.InMemory;

/// <summary>
/// The embedded transport: an in-process broker with RabbitMQ's semantics (topic routing, one queue per
/// listener group, competing consumers with prefetch, requeue, dead-letter), for samples and tests.
/// </summary>
internal sealed class InMemoryTransport : IEventTransport
{
    /// <summary>AMQP's <c>basic.qos</c> prefetch count is a 16-bit number; 0 (unlimited) is not offered.</summary>
    internal const int MaxPrefetch = ushort.MaxValue;

    private readonly InMemoryBroker _broker = new();

    /// <summary>The embedded broker, for observers of its queues (the TestKit's listener probes).</summary>
    internal InMemoryBroker Broker => _broker;

    public string Description => "in-memory";

    public TimeSpan ConfirmTimeout => Timeout.InfiniteTimeSpan;

    public Task DeclareListenerAsync(ListenerTopology topology, CancellationToken cancellationToken)
    {
        Validate(topology);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        try
        {
            _broker.Declare(topology);
            return Task.CompletedTask;
        }
        catch (InvalidOperationException ex)
        {
            return Task.FromException(ex);
        }
    }

    public Task<IConsumerSession> StartConsumerAsync(
        ListenerTopology topology, int prefetch, IDeliveryTarget target, CancellationToken cancellationToken)
    {
        Validate(topology);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetch, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefetch, MaxPrefetch);
        ArgumentNullException.ThrowIfNull(target);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<IConsumerSession>(cancellationToken);
        }

        try
        {
            return Task.FromResult<IConsumerSession>(_broker.StartConsumer(topology, prefetch, target));
        }
        catch (InvalidOperationException ex)
        {
            return Task.FromException<IConsumerSession>(ex);
        }
    }

    public Task<IPublisherSession> OpenPublisherAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<IPublisherSession>(cancellationToken);
        }

        return _broker.IsDisposed
            ? Task.FromException<IPublisherSession>(InMemoryBroker.DisposedException())
            : Task.FromResult<IPublisherSession>(new InMemoryPublisherSession(_broker));
    }

    public Task<long> CountDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken) =>
        OnDeadLetters(topology, q => (long)q.DeadLetterCount, 0L, cancellationToken);

    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(ListenerTopology topology, int skip, int take, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        ArgumentOutOfRangeException.ThrowIfNegative(take);
        return OnDeadLetters(topology, q => q.ListDeadLetters(skip, take), [], cancellationToken);
    }

    public Task<int> ReplayDeadLettersAsync(ListenerTopology topology, Func<DeadLetter, bool> filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return OnDeadLetters(topology, q => q.ReplayDeadLetters(filter), 0, cancellationToken);
    }

    public Task<long> PurgeDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken) =>
        OnDeadLetters(topology, q => (long)q.PurgeDeadLetters(), 0L, cancellationToken);

    public Task<BrokerHealth> CheckHealthAsync(CancellationToken cancellationToken) =>
        cancellationToken.IsCancellationRequested
            ? Task.FromCanceled<BrokerHealth>(cancellationToken)
            : Task.FromResult(_broker.IsDisposed ? BrokerHealth.Unhealthy("the in-memory broker was disposed") : BrokerHealth.Healthy);

    public ValueTask DisposeAsync() => new(_broker.DisposeAsync());

    private Task<TResult> OnDeadLetters<TResult>(
        ListenerTopology topology, Func<InMemoryQueue, TResult> work, TResult none, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topology);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<TResult>(cancellationToken);
        }

        try
        {
            return Task.FromResult(_broker.OnDeadLetters(topology, work, none));
        }
        catch (ObjectDisposedException ex)
        {
            return Task.FromException<TResult>(ex);
        }
    }

    private static void Validate(ListenerTopology topology)
    {
        ArgumentNullException.ThrowIfNull(topology);
        EventName.ValidatePattern(topology.Pattern, nameof(topology));
        ListenerTopology.ValidateGroup(topology.Group);
    }
}
