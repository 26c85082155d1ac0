using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams;

public sealed partial class EventBus
{
    /// <summary>
    /// A bus on RabbitMQ. Connecting is lazy: the first listener or emitter connects (and every one after a
    /// lost connection connects again), so a service can start before its broker does; use
    /// <see cref="ConnectRabbitMqAsync"/> to fail at start-up when the broker does not answer.
    /// </summary>
    /// <param name="rabbit">Where the broker is and how to reach it.</param>
    /// <param name="settings">The bus's settings.</param>
    /// <returns>The bus; dispose it when the service stops.</returns>
    public static EventBus RabbitMq(RabbitMqSettings rabbit, EventBusSettings settings)
    {
        ArgumentNullException.ThrowIfNull(rabbit);
        ArgumentNullException.ThrowIfNull(settings);
        return new EventBus(new RabbitMqTransport(rabbit, settings.LoggerFactory), settings);
    }

    /// <summary>
    /// A bus on RabbitMQ that has connected already: fails when the broker does not answer (the message names
    /// the broker as <c>amqp://host:port/vhost</c>, never the credentials).
    /// </summary>
    /// <param name="rabbit">Where the broker is and how to reach it.</param>
    /// <param name="settings">The bus's settings.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>The connected bus; dispose it when the service stops.</returns>
    public static async Task<EventBus> ConnectRabbitMqAsync(
        RabbitMqSettings rabbit, EventBusSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rabbit);
        ArgumentNullException.ThrowIfNull(settings);
        var transport = new RabbitMqTransport(rabbit, settings.LoggerFactory);
        try
        {
            await transport.GetConnectionAsync(ConnectionRole.Consume, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new EventBus(transport, settings);
    }
}
