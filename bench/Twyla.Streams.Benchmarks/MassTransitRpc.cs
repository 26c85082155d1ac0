using MassTransit;
using Twyla.Streams.Benchmarks.Events;

namespace Twyla.Streams.Benchmarks;

/// <summary>
/// The RPC benchmark's MassTransit side: the way MassTransit's documentation shows request/response, a request client
/// created without an address <em>publishes</em> each <see cref="Work"/> (to its message type's exchange),
/// a consumer on a receive endpoint bound to it responds with <see cref="WorkResult"/>, and the response
/// comes back to the bus's temporary endpoint. Client and consumer run in this process on one bus; the broker on the
/// same machine. The endpoint's prefetch and concurrent message limit equal the calls in flight.
/// </summary>
internal sealed class MassTransitRpc : IAsyncDisposable
{
    private readonly Broker _broker;
    private readonly MassTransitSide _bus;
    private readonly HostReceiveEndpointHandle _endpoint;
    private readonly string _queue;
    private readonly IRequestClient<Work> _client;

    private MassTransitRpc(Broker broker, MassTransitSide bus, HostReceiveEndpointHandle endpoint, string queue)
    {
        _broker = broker;
        _bus = bus;
        _endpoint = endpoint;
        _queue = queue;
        _client = bus.Bus.CreateRequestClient<Work>(RequestTimeout.After(s: 60));
    }

    /// <summary><c>amqp://host:port/vhost</c>, without credentials.</summary>
    public string BrokerDescription => _broker.Description;

    /// <summary>Starts the bus and the consumer on the broker of <c>Twyla__Amqp__Uri</c>; null (after one line saying why) when no broker answers.</summary>
    public static async Task<MassTransitRpc?> StartAsync(int inFlight)
    {
        var uri = Broker.UriFromEnvironment();
        var broker = await Broker.ConnectAsync(uri, "rpc (MassTransit side; --no-masstransit skips it)");
        if (broker is null)
        {
            return null;
        }

        var bus = await MassTransitSide.StartAsync(uri, "twyla-bench-rpc-masstransit", inFlight);
        var queue = $"twyla-bench-rpc.{Guid.NewGuid().ToString("N")[..8]}";
        var endpoint = await bus.ConnectAsync(queue, inFlight, inFlight, e => e.Handler<Work>(context => context.RespondAsync(context.Message.Process())));
        return new MassTransitRpc(broker, bus, endpoint, queue);
    }

    /// <summary>One call: the request published, the response awaited.</summary>
    public async Task<WorkResult?> CallAsync(Work work) =>
        (await _client.GetResponse<WorkResult>(work)).Message;

    public async ValueTask DisposeAsync()
    {
        await _endpoint.StopAsync();
        await MassTransitSide.DeleteEndpointAsync(_broker, _queue);
        await MassTransitSide.DeletePublishExchangeAsync<Work>(_broker);
        await _bus.DisposeAsync();
        await _broker.DisposeAsync();
    }
}
