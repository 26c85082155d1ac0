using Akka.Actor;
using Akka.Streams;
using Twyla.Streams.Benchmarks.Events;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Benchmarks;

/// <summary>
/// What a benchmark on the broker works in: the broker (<c>Twyla__Amqp__Uri</c>), a run id, an exchange of the run's
/// own, and our <see cref="EventBus"/> on it with an actor system for the streams.
/// </summary>
internal sealed record BrokerRun(string Uri, string Id, string Exchange, Broker Broker, EventBus Bus, IMaterializer Materializer)
{
    /// <summary>
    /// Connects to the broker (exit code 3, after one line saying which broker did not answer, when none does), runs
    /// <paramref name="body"/> and removes the run's exchange afterwards; 0 when the body returned.
    /// </summary>
    public static async Task<int> RunAsync(string benchmark, Func<BrokerRun, Task> body)
    {
        var uri = Broker.UriFromEnvironment();
        await using var broker = await Broker.ConnectAsync(uri, benchmark);
        if (broker is null)
        {
            return 3;
        }

        var id = Guid.NewGuid().ToString("N")[..8];
        var exchange = $"twyla.bench.{id}";
        await broker.DeclareExchangeAsync(exchange);
        var system = ActorSystem.Create("twyla-bench", "akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING");
        try
        {
            await using var bus = EventBus.RabbitMq(
                RabbitMqSettings.FromUri(uri).WithExchange(exchange).WithConnectionName("twyla-bench-ours"),
                EventBusSettings.Create("twyla-bench"));
            Log($"broker {broker.Description} (RabbitMQ {broker.ServerVersion}), exchange {exchange}; " +
                $"{Environment.ProcessorCount} cores, .NET {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}");
            await body(new BrokerRun(uri, id, exchange, broker, bus, system.Materializer()));
        }
        finally
        {
            await system.Terminate();
            await broker.DeleteExchangeAsync(exchange);
        }

        return 0;
    }

    /// <summary>A progress line on stderr, with the time.</summary>
    public static void Log(string line) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}");
}
