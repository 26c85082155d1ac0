using Twyla.Streams.Events;

namespace Twyla.Streams.Transport;

/// <summary>
/// What the stages need from a broker. Implementations: <c>InMemory/</c> (the embedded default) and
/// <c>RabbitMq/</c>. Owned by <see cref="EventBus"/>, which disposes it.
/// </summary>
internal interface IEventTransport : IAsyncDisposable
{
    /// <summary>A short description for logs (never credentials), e.g. <c>in-memory</c> or <c>amqp://host:5672/vhost</c>.</summary>
    string Description { get; }

    /// <summary>Declares exchange, queue, binding and dead-letter queue; idempotent.</summary>
    Task DeclareListenerAsync(ListenerTopology topology, CancellationToken cancellationToken);

    /// <summary>Declares the topology and starts a consumer with the given prefetch.</summary>
    Task<IConsumerSession> StartConsumerAsync(
        ListenerTopology topology, int prefetch, IDeliveryTarget target, CancellationToken cancellationToken);

    /// <summary>Opens a publisher (a channel with confirms on).</summary>
    Task<IPublisherSession> OpenPublisherAsync(CancellationToken cancellationToken);

    /// <summary>Reads up to <paramref name="max"/> dead letters of a listener queue without removing them.</summary>
    Task<IReadOnlyList<DeadLetter>> PeekDeadLettersAsync(ListenerTopology topology, int max, CancellationToken cancellationToken);

    /// <summary>Whether the transport can reach its broker now, and why not when it cannot.</summary>
    Task<TransportHealth> CheckHealthAsync(CancellationToken cancellationToken);
}
