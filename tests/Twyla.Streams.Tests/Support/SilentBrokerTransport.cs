using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Tests.Support;

/// <summary>
/// A transport whose publisher takes every publish and never confirms it, as a broker under a resource alarm:
/// the publish stays pending until the session is closed, which fails it.
/// </summary>
internal sealed class SilentBrokerTransport(TimeSpan sessionConfirmTimeout) : IEventTransport
{
    public SilentPublisher Publisher { get; } = new();

    public TimeSpan ConfirmTimeout => sessionConfirmTimeout;

    public string Description => "silent broker";

    public Task DeclareListenerAsync(ListenerTopology topology, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IConsumerSession> StartConsumerAsync(
        ListenerTopology topology, int prefetch, IDeliveryTarget target, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The silent broker only takes publishes.");

    public Task<IPublisherSession> OpenPublisherAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IPublisherSession>(Publisher);

    public Task<long> CountDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken) => Task.FromResult(0L);

    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(ListenerTopology topology, int skip, int take, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<DeadLetter>>([]);

    public Task<int> ReplayDeadLettersAsync(ListenerTopology topology, Func<DeadLetter, bool> filter, CancellationToken cancellationToken) =>
        Task.FromResult(0);

    public Task<long> PurgeDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken) => Task.FromResult(0L);

    public Task<BrokerHealth> CheckHealthAsync(CancellationToken cancellationToken) => Task.FromResult(BrokerHealth.Healthy);

    public Task AppendContractAsync(Twyla.Streams.Contracts.ContractRecord record, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IReadOnlyList<Twyla.Streams.Contracts.ContractRecord>> ReadContractsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Twyla.Streams.Contracts.ContractRecord>>([]);

    public Task<bool> GroupExistsAsync(ListenerTopology topology, CancellationToken cancellationToken) => Task.FromResult(false);

    public ValueTask DisposeAsync() => Publisher.DisposeAsync();

    internal sealed class SilentPublisher : IPublisherSession
    {
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _published;

        public bool IsOpen => !_closed.Task.IsCompleted;

        public int Published => Volatile.Read(ref _published);

        public Task Disposed => _closed.Task;

        public async Task PublishAsync(EventEnvelope envelope, bool mandatory, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _published);
            await _closed.Task.WaitAsync(cancellationToken);
            throw new InvalidOperationException("the channel was closed before the broker confirmed the event");
        }

        public ValueTask DisposeAsync()
        {
            _closed.TrySetResult();
            return ValueTask.CompletedTask;
        }
    }
}
