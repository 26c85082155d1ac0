using Twyla.Streams.Emit;
using Twyla.Streams.Transport;

namespace Twyla.Streams;

/// <summary>
/// The entry point: owns the transport (the in-memory broker or a RabbitMQ connection) and makes the
/// listen sources and emit sinks of a service. Dispose it when the service stops (<c>await using</c>, or
/// the host's container).
/// </summary>
public sealed partial class EventBus : IAsyncDisposable, IDisposable
{
    private readonly IEventTransport _transport;
    private readonly SharedPublisher _sharedPublisher;
    private int _disposed;

    internal EventBus(IEventTransport transport, EventBusSettings settings)
    {
        _transport = transport;
        _sharedPublisher = new SharedPublisher(transport.OpenPublisherAsync);
        Settings = settings;
    }

    /// <summary>The bus's settings.</summary>
    public EventBusSettings Settings { get; }

    /// <summary>What the bus is connected to, for logs (never credentials).</summary>
    public string TransportDescription => _transport.Description;

    internal IEventTransport Transport => _transport;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _sharedPublisher.DisposeAsync().ConfigureAwait(false);
            await _transport.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Disposes synchronously, for containers and <c>using</c> statements that do not await: blocks until
    /// <see cref="DisposeAsync"/> has closed the transport (each RabbitMQ channel and the connection close within a
    /// bounded time). Prefer <see cref="DisposeAsync"/> where you can await.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();
}
