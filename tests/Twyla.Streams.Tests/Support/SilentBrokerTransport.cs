using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Tests.Support;

/// <summary>
/// A transport whose publisher takes every publish and never confirms it, as a broker under a resource alarm:
/// the publish stays pending until the session is closed, which fails it.
/// </summary>
internal sealed class SilentBrokerTransport(TimeSpan sessionConfirmTimeout) : IEventTransport
{
    public SilentPublisher Publisher { get; } = new(sessionConfirmTimeout);

    public string Description => "silent broker";

    public Task DeclareListenerAsync(ListenerTopology topology, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IConsumerSession> StartConsumerAsync(
        ListenerTopology topology, int prefetch, IDeliveryTarget target, CancellationToken cancellationToken) =>
        throw new NotSupportedException("The silent broker only takes publishes.");

    public Task<IPublisherSession> OpenPublisherAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IPublisherSession>(Publisher);

    public Task<IReadOnlyList<DeadLetter>> PeekDeadLettersAsync(ListenerTopology topology, int max, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<DeadLetter>>([]);

    public Task<TransportHealth> CheckHealthAsync(CancellationToken cancellationToken) => Task.FromResult(TransportHealth.Healthy);

    public ValueTask DisposeAsync() => Publisher.DisposeAsync();

    internal sealed class SilentPublisher(TimeSpan confirmTimeout) : IPublisherSession
    {
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _published;

        public TimeSpan ConfirmTimeout { get; } = confirmTimeout;

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
