using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Benchmarks.Events;

/// <summary>
/// A plain RabbitMQ.Client connection for what the benchmark does around the measured work: probing the broker,
/// waiting for consumers, checking that queues were fully acked, deleting them. It also carries the raw baseline.
/// </summary>
internal sealed class Broker : IAsyncDisposable
{
    private readonly IChannel _admin;

    private Broker(IConnection connection, IChannel admin, string description, string version)
    {
        Connection = connection;
        _admin = admin;
        Description = description;
        ServerVersion = version;
    }

    /// <summary>The broker of a benchmark run: <c>Twyla__Amqp__Uri</c>, else RabbitMQ's default on this machine.</summary>
    public static string UriFromEnvironment() =>
        Environment.GetEnvironmentVariable("Twyla__Amqp__Uri") is { Length: > 0 } u ? u : "amqp://guest:guest@127.0.0.1:5672/";

    public IConnection Connection { get; }

    /// <summary><c>amqp://host:port/vhost</c>, without credentials.</summary>
    public string Description { get; }

    public string ServerVersion { get; }

    /// <summary>Connects, or returns null after printing one line that says which broker did not answer and how to start one.</summary>
    /// <param name="uri">The broker.</param>
    /// <param name="benchmark">The benchmark's name, which starts the line.</param>
    public static async Task<Broker?> ConnectAsync(string uri, string benchmark = "events")
    {
        string description;
        try
        {
            description = RabbitMqSettings.FromUri(uri).ToString();
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"{benchmark}: Twyla__Amqp__Uri is not an AMQP URI: {e.Message}");
            return null;
        }

        var factory = new ConnectionFactory
        {
            Uri = new Uri(uri),
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            RequestedConnectionTimeout = TimeSpan.FromSeconds(5),
            ClientProvidedName = "twyla-bench-raw",
        };
        try
        {
            var connection = await factory.CreateConnectionAsync();
            var admin = await connection.CreateChannelAsync();
            var version = connection.ServerProperties is { } p && p.TryGetValue("version", out var v) && v is byte[] bytes
                ? System.Text.Encoding.UTF8.GetString(bytes)
                : "unknown";
            return new Broker(connection, admin, description, version);
        }
        catch (BrokerUnreachableException)
        {
            await Console.Error.WriteLineAsync(
                $"{benchmark}: no RabbitMQ broker answers at {description} (Twyla__Amqp__Uri); start one with " +
                "'tests/rabbitmq-node.sh init DIR && tests/rabbitmq-node.sh start DIR' and export Twyla__Amqp__Uri=$(tests/rabbitmq-node.sh uri DIR) (see docs/benchmarks.md)");
            return null;
        }
    }

    public Task DeclareExchangeAsync(string exchange) =>
        _admin.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false);

    public Task DeleteExchangeAsync(string exchange) => _admin.ExchangeDeleteAsync(exchange, ifUnused: false);

    /// <summary>Waits until <paramref name="queue"/> has a consumer, so both sides start measuring with a live consumer.</summary>
    public async Task WaitForConsumerAsync(string queue, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while ((await _admin.QueueDeclarePassiveAsync(queue)).ConsumerCount == 0)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"no consumer appeared on queue '{queue}' within {timeout}");
            }

            await Task.Delay(5);
        }
    }

    /// <summary>The messages still in <paramref name="queue"/> (ready, or unacked and requeued when their consumer closed).</summary>
    public async Task<uint> MessageCountAsync(string queue) => (await _admin.QueueDeclarePassiveAsync(queue)).MessageCount;

    public async Task DeleteQueueAsync(string queue)
    {
        await _admin.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false);
        await _admin.QueueDeleteAsync(queue + ".dead-letter", ifUnused: false, ifEmpty: false);
    }

    public async ValueTask DisposeAsync()
    {
        await _admin.CloseAsync();
        await _admin.DisposeAsync();
        await Connection.CloseAsync();
        await Connection.DisposeAsync();
    }
}
