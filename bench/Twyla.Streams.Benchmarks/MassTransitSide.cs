using MassTransit;
using Microsoft.Extensions.Logging.Abstractions;
using Twyla.Streams.Benchmarks.Events;

namespace Twyla.Streams.Benchmarks;

/// <summary>
/// The side users would pick instead: MassTransit 8 on RabbitMQ, one bus per benchmark run, created with
/// <c>Bus.Factory.CreateUsingRabbitMq</c> (no host) on the same broker, its logging off. Publisher confirms are on (its
/// default on RabbitMQ, set here explicitly): a publish completes when the broker confirmed it. Receive endpoints are
/// connected per round, with the prefetch and concurrency of the side they are compared with.
/// </summary>
internal sealed class MassTransitSide : IAsyncDisposable
{
    private MassTransitSide(IBusControl bus) => Bus = bus;

    public IBusControl Bus { get; }

    /// <summary>Starts a bus on <paramref name="amqpUri"/> (<c>amqp://user:password@host:port/vhost</c>).</summary>
    /// <param name="amqpUri">The broker.</param>
    /// <param name="connectionName">The connection's name in the broker.</param>
    /// <param name="busPrefetch">The prefetch of the bus's own (temporary) endpoint, which receives responses.</param>
    public static async Task<MassTransitSide> StartAsync(string amqpUri, string connectionName, int busPrefetch)
    {
        var uri = new Uri(amqpUri);
        if (uri.Scheme != "amqp")
        {
            throw new ArgumentException($"the MassTransit side connects with amqp:// only, not {uri.Scheme}://");
        }

        var userInfo = uri.UserInfo.Split(':', 2);
        var user = userInfo.Length > 0 && userInfo[0].Length > 0 ? Uri.UnescapeDataString(userInfo[0]) : "guest";
        var password = userInfo.Length > 1 ? Uri.UnescapeDataString(userInfo[1]) : "guest";
        var virtualHost = uri.AbsolutePath.Length <= 1 ? "/" : Uri.UnescapeDataString(uri.AbsolutePath[1..]);
        var port = uri.IsDefaultPort || uri.Port < 0 ? (ushort)5672 : (ushort)uri.Port;

        LogContext.ConfigureCurrentLogContext(NullLoggerFactory.Instance);
        var bus = MassTransit.Bus.Factory.CreateUsingRabbitMq(cfg =>
        {
            cfg.Host(uri.Host, port, virtualHost, connectionName, h =>
            {
                h.Username(user);
                h.Password(password);
                h.PublisherConfirmation = true;
            });
            cfg.PrefetchCount = busPrefetch;
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await bus.StartAsync(timeout.Token);
        return new MassTransitSide(bus);
    }

    /// <summary>
    /// Connects a receive endpoint on queue <paramref name="queue"/> (MassTransit declares it and an exchange of the same
    /// name, and binds the exchanges of the message types <paramref name="handlers"/> consume) and waits until it consumes.
    /// </summary>
    public async Task<HostReceiveEndpointHandle> ConnectAsync(string queue, int prefetch, int concurrency, Action<IReceiveEndpointConfigurator> handlers)
    {
        var handle = Bus.ConnectReceiveEndpoint(queue, e =>
        {
            e.PrefetchCount = prefetch;
            e.ConcurrentMessageLimit = concurrency;
            handlers(e);
        });
        await handle.Ready;
        return handle;
    }

    /// <summary>Deletes what <see cref="ConnectAsync"/> declared for <paramref name="queue"/> (its endpoint must be stopped).</summary>
    public static async Task DeleteEndpointAsync(Broker broker, string queue)
    {
        await broker.DeleteQueueAsync(queue);
        await broker.DeleteExchangeAsync(queue);
    }

    /// <summary>
    /// Deletes the durable exchange MassTransit declared for publishing <typeparamref name="T"/> (named by its default
    /// entity name formatter, <c>Namespace:TypeName</c>), when the run is over.
    /// </summary>
    public static Task DeletePublishExchangeAsync<T>(Broker broker) => broker.DeleteExchangeAsync($"{typeof(T).Namespace}:{typeof(T).Name}");

    /// <summary>
    /// Publishes <paramref name="message"/>(i) for each index with at most <paramref name="maxInFlight"/> unconfirmed
    /// (see <see cref="PublishWindow"/>); completes when every publish was confirmed.
    /// </summary>
    public Task PublishAsync<T>(IAsyncEnumerable<int> indexes, Func<int, T> message, int maxInFlight, Action<Exception> fail)
        where T : class =>
        PublishWindow.RunAsync(indexes, maxInFlight, i => Bus.Publish(message(i)), fail);

    public async ValueTask DisposeAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await Bus.StopAsync(timeout.Token);
    }
}
