using Twyla.Streams.Transport.InMemory;

namespace Twyla.Streams;

public sealed partial class EventBus
{
    /// <summary>
    /// Creates a bus on the embedded in-memory broker: no RabbitMQ needed, same semantics (a queue per listener
    /// group that gets every matching event, competing consumers with prefetch, requeue and dead-letter).
    /// For samples, local runs and tests of services; events live in this process only and are lost when it ends.
    /// </summary>
    /// <param name="settings">The bus's settings.</param>
    /// <returns>The bus; dispose it to stop its listeners and drop the broker's state.</returns>
    public static EventBus InMemory(EventBusSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new EventBus(new InMemoryTransport(), settings);
    }
}
