namespace Twyla.Streams.Hosting;

/// <summary>Which broker the service's <see cref="EventBus"/> talks to (configuration key <c>Twyla:Transport</c>).</summary>
public enum TwylaTransport
{
    /// <summary>The embedded in-memory broker: no RabbitMQ needed, events live in this process only.</summary>
    InMemory = 0,

    /// <summary>A RabbitMQ broker, configured under <c>Twyla:Amqp</c>.</summary>
    RabbitMq = 1,
}
