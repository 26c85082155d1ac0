using Twyla.Streams.Contracts;
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

    private readonly InMemoryBroker _broker;

    /// <summary>A transport on a broker of its own.</summary>
    public InMemoryTransport()
        : this(new InMemoryBroker())
    {
    }

    /// <summary>A transport on <paramref name="broker"/> (retained by the caller), as another service in the same process.</summary>
    private InMemoryTransport(InMemoryBroker broker) => _broker = broker;

    /// <summary>
    /// Another transport on this one's broker (another service of the same process): it sees the same queues and contract
    /// log; the broker lives until every transport on it is disposed, and disposing one stops only its own consumers.
    /// </summary>
    public InMemoryTransport Beside()
    {
        _broker.Retain();
        return new InMemoryTransport(_broker);
    }

    /// <summary>The embedded broker, for observers of its queues (the TestKit's listener probes).</summary>
    internal InMemoryBroker Broker => _broker;

    public string Description => "in-memory";

    public TimeSpan ConfirmTimeout => ConfirmTimeouts.Default;

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

        if (topology.OnDeclared is { } onDeclared)
        {
            return StartAfterAsync(onDeclared);
        }

        try
        {
            return Task.FromResult<IConsumerSession>(_broker.StartConsumer(topology, prefetch, target, this));
        }
        catch (InvalidOperationException ex)
        {
            return Task.FromException<IConsumerSession>(ex);
        }

        async Task<IConsumerSession> StartAfterAsync(Func<CancellationToken, Task> declared)
        {
            _broker.Declare(topology);
            await declared(cancellationToken).ConfigureAwait(false);
            return _broker.StartConsumer(topology, prefetch, target, this);
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

    public Task AppendContractAsync(ContractRecord record, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        try
        {
            _broker.AppendContract(record);
            return Task.CompletedTask;
        }
        catch (ObjectDisposedException ex)
        {
            return Task.FromException(ex);
        }
    }

    public Task<IReadOnlyList<ContractRecord>> ReadContractsAsync(CancellationToken cancellationToken)
    {
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<IReadOnlyList<ContractRecord>>(cancellationToken);
        }

        try
        {
            return Task.FromResult(_broker.ReadContracts());
        }
        catch (ObjectDisposedException ex)
        {
            return Task.FromException<IReadOnlyList<ContractRecord>>(ex);
        }
    }

    public Task<bool> GroupExistsAsync(ListenerTopology topology, CancellationToken cancellationToken) =>
        OnDeadLetters(topology, static _ => true, false, cancellationToken);

    public ValueTask DisposeAsync() => new(_broker.ReleaseAsync(this));

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
