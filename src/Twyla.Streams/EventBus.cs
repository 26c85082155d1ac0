using Twyla.Streams.Transport;

namespace Twyla.Streams;

/// <summary>
/// The entry point: owns the transport (the in-memory broker or a RabbitMQ connection) and makes the
/// listen sources and emit sinks of a service. Dispose it when the service stops.
/// </summary>
public sealed partial class EventBus : IAsyncDisposable
{
    private readonly IEventTransport _transport;
    private int _disposed;

    internal EventBus(IEventTransport transport, EventBusSettings settings)
    {
        _transport = transport;
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
            await DisposeSharedPublisherAsync().ConfigureAwait(false);
            await _transport.DisposeAsync().ConfigureAwait(false);
            _publisherLock.Dispose();
        }
    }
}
