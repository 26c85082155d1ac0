using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using RabbitMQ.Client;
using Twyla.Streams;
using Twyla.Streams.Hosting;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Cli;

/// <summary>
/// The broker as a service sees it: the bus is made by <c>AddTwylaEvents</c> from the same configuration a service
/// reads (<c>Twyla__Amqp__Uri</c> and the other <c>Twyla__*</c> keys, the <c>TWYLA_AMQP_*</c> variables), so the tool
/// connects where the service does; <c>--uri</c> replaces the whole AMQP part. Messages name the broker as
/// <c>amqp://host:port/vhost</c>, never its credentials.
/// </summary>
internal sealed class Broker : IAsyncDisposable
{
    /// <summary>The service name the tool emits as (an event's <c>source</c>).</summary>
    public const string ServiceName = "twyla-cli";

    private readonly ServiceProvider _services;

    private Broker(ServiceProvider services, EventBus bus)
    {
        _services = services;
        Bus = bus;
    }

    public EventBus Bus { get; }

    /// <summary>The RabbitMQ transport under the bus, for what the bus has no operation for (queue counts, a temporary queue).</summary>
    internal RabbitMqTransport Transport => (RabbitMqTransport)Bus.Transport;

    /// <summary>The bus from <paramref name="configuration"/> and <paramref name="uri"/>, connected.</summary>
    /// <exception cref="CliException">No broker is configured, the configuration is invalid, or the broker does not answer.</exception>
    public static async Task<Broker> ConnectAsync(IConfiguration configuration, string? uri, CancellationToken cancellationToken)
    {
        var services = new ServiceCollection()
            .AddSingleton(configuration)
            .AddTwylaEvents(options =>
            {
                if (uri is not null)
                {
                    options.Amqp = new TwylaAmqpOptions { Uri = uri };
                }

                options.ServiceName ??= ServiceName;
            })
            .BuildServiceProvider();
        try
        {
            var bus = services.GetRequiredService<EventBus>();
            if (bus.IsInMemory)
            {
                throw new CliException(ExitCodes.Broker, "twyla works on RabbitMQ: the configuration chooses the in-memory transport (Twyla:Transport=InMemory).");
            }

            var broker = new Broker(services, bus);
            await broker.Transport.GetConnectionAsync(ConnectionRole.Consume, cancellationToken).ConfigureAwait(false);
            return broker;
        }
        catch (OptionsValidationException e)
        {
            await services.DisposeAsync().ConfigureAwait(false);
            throw new CliException(ExitCodes.Broker, NoBroker(e));
        }
        catch (Exception e) when (e is not CliException and not OperationCanceledException)
        {
            await services.DisposeAsync().ConfigureAwait(false);
            throw new CliException(ExitCodes.Broker, e.Message);
        }
        catch
        {
            await services.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A channel of its own on the consuming connection (never blocked by a broker alarm); close it after use.</summary>
    public Task<IChannel> OpenChannelAsync(CancellationToken cancellationToken) =>
        Transport.OpenChannelAsync(ConnectionRole.Consume, confirms: false, cancellationToken);

    public ValueTask DisposeAsync() => _services.DisposeAsync();

    private static string NoBroker(OptionsValidationException e) =>
        string.Join(" ", e.Failures) + " With twyla, --uri amqp://user:password@host:5672/vhost also names the broker.";
}
