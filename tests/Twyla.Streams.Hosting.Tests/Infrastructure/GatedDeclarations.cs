using Twyla.Streams.Contracts;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.InMemory;

namespace Twyla.Streams.Hosting.Tests.Infrastructure;

/// <summary>
/// The in-memory transport, except that a listener group's declaration (<see cref="IEventTransport.DeclareListenerAsync"/>)
/// waits until the test opens the gate: shows how many declarations are under way at once. Consumers declare their
/// topology themselves, so they are not held.
/// </summary>
internal sealed class GatedDeclarations(int expected) : IEventTransport
{
    private readonly InMemoryTransport _inner = new();
    private readonly TaskCompletionSource _gate = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _allWaiting = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _waiting;
    private int _contractReads;

    /// <summary>How many times the contract log was read (a broker round trip on RabbitMQ).</summary>
    public int ContractReads => Volatile.Read(ref _contractReads);

    /// <summary>Completes once <c>expected</c> declarations wait at the gate at the same time.</summary>
    public Task AllWaiting => _allWaiting.Task;

    public void Open() => _gate.TrySetResult();

    public string Description => _inner.Description;

    public TimeSpan ConfirmTimeout => _inner.ConfirmTimeout;

    public async Task DeclareListenerAsync(ListenerTopology topology, CancellationToken cancellationToken)
    {
        if (Interlocked.Increment(ref _waiting) == expected)
        {
            _allWaiting.TrySetResult();
        }

        await _gate.Task; // not the caller's token: only an open gate lets a declaration finish
        await _inner.DeclareListenerAsync(topology, CancellationToken.None);
    }

    public Task<IConsumerSession> StartConsumerAsync(
        ListenerTopology topology, int prefetch, IDeliveryTarget target, CancellationToken cancellationToken) =>
        _inner.StartConsumerAsync(topology, prefetch, target, cancellationToken);

    public Task<IPublisherSession> OpenPublisherAsync(CancellationToken cancellationToken) => _inner.OpenPublisherAsync(cancellationToken);

    public Task<long> CountDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken) =>
        _inner.CountDeadLettersAsync(topology, cancellationToken);

    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(ListenerTopology topology, int skip, int take, CancellationToken cancellationToken) =>
        _inner.ListDeadLettersAsync(topology, skip, take, cancellationToken);

    public Task<int> ReplayDeadLettersAsync(ListenerTopology topology, Func<DeadLetter, bool> filter, CancellationToken cancellationToken) =>
        _inner.ReplayDeadLettersAsync(topology, filter, cancellationToken);

    public Task<long> PurgeDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken) =>
        _inner.PurgeDeadLettersAsync(topology, cancellationToken);

    public Task<BrokerHealth> CheckHealthAsync(CancellationToken cancellationToken) => _inner.CheckHealthAsync(cancellationToken);

    public Task AppendContractAsync(ContractRecord record, CancellationToken cancellationToken) =>
        _inner.AppendContractAsync(record, cancellationToken);

    public Task<IReadOnlyList<ContractRecord>> ReadContractsAsync(CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _contractReads);
        return _inner.ReadContractsAsync(cancellationToken);
    }

    public Task<bool> GroupExistsAsync(ListenerTopology topology, CancellationToken cancellationToken) =>
        _inner.GroupExistsAsync(topology, cancellationToken);

    public ValueTask DisposeAsync() => _inner.DisposeAsync();
}
