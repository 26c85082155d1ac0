using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Hosting.Configuration;

/// <summary>Makes the service's <see cref="EventBus"/> from validated <see cref="TwylaOptions"/>.</summary>
internal static class TwylaEventBusFactory
{
    /// <summary>
    /// The bus; throws <see cref="OptionsValidationException"/> when no broker is configured outside the Development
    /// environment (<paramref name="environment"/> <c>null</c>: no host, not Development).
    /// </summary>
    public static EventBus Create(TwylaOptions options, string defaultServiceName, IHostEnvironment? environment, ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger("Twyla.Streams.Hosting");
        var settings = EventBusSettings.Create(options.ServiceName ?? defaultServiceName).WithLoggerFactory(loggerFactory);
        var transport = ResolveTransport(options);
        if (options.Transport is null && transport == TwylaTransport.InMemory && environment?.IsDevelopment() != true)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(TwylaOptions), [NoBrokerMessage(environment)]);
        }

        switch (transport)
        {
            case TwylaTransport.RabbitMq:
            {
                var rabbit = RabbitSettings(options);
                logger.LogInformation(
                    "Twyla event bus for service {ServiceName} on RabbitMQ {Broker}, exchange {Exchange}",
                    settings.ServiceName, rabbit.ToString(), rabbit.Exchange);
                return EventBus.RabbitMq(rabbit, settings);
            }

            default:
                if (options.Transport is null)
                {
                    logger.LogWarning(
                        "Twyla event bus for service {ServiceName}: no transport configured (Twyla:Transport, Twyla:Amqp:Uri or TWYLA_AMQP_HOST), " +
                        "using the in-memory transport in the Development environment; events live in this process only",
                        settings.ServiceName);
                }
                else
                {
                    logger.LogInformation("Twyla event bus for service {ServiceName} on the in-memory transport", settings.ServiceName);
                }

                return EventBus.InMemory(settings);
        }
    }

    private static string NoBrokerMessage(IHostEnvironment? environment) =>
        $"No event broker is configured (environment: {environment?.EnvironmentName ?? "none"}). Set Twyla:Amqp:Uri " +
        "(environment variable Twyla__Amqp__Uri=amqp://user:password@host:5672/vhost) or TWYLA_AMQP_HOST, or choose the " +
        "in-memory transport explicitly with Twyla:Transport=InMemory (Twyla__Transport=InMemory; events then live in this " +
        "process only). Without either, the in-memory transport is used in the Development environment only.";

    /// <summary>The configured transport, or RabbitMQ when any AMQP setting is present, else in-memory.</summary>
    public static TwylaTransport ResolveTransport(TwylaOptions options) =>
        options.Transport ?? (options.Amqp?.IsConfigured == true ? TwylaTransport.RabbitMq : TwylaTransport.InMemory);

    /// <summary>RabbitMQ settings: the URI first, then the individual keys override its parts.</summary>
    public static RabbitMqSettings RabbitSettings(TwylaOptions options)
    {
        var amqp = options.Amqp ?? new TwylaAmqpOptions();
        var rabbit = RabbitMqSettings.Create();
        if (amqp.Uri is { } uri)
        {
            rabbit = rabbit.WithUri(uri); // checked by TwylaOptionsValidator
        }

        if (amqp.Host is { } host)
        {
            rabbit = rabbit.WithHost(host);
        }

        if (amqp.Port is { } port)
        {
            rabbit = rabbit.WithPort(port);
        }

        if (amqp.User is { } user)
        {
            rabbit = rabbit.WithUserName(user);
        }

        if (amqp.Password is { } password)
        {
            rabbit = rabbit.WithPassword(password);
        }

        if (amqp.VirtualHost is { } vhost)
        {
            rabbit = rabbit.WithVirtualHost(vhost);
        }

        if (amqp.ClusterHostList is { Length: > 0 } hosts)
        {
            rabbit = rabbit.WithClusterHosts(hosts); // checked by TwylaOptionsValidator
        }

        if (options.Exchange is { } exchange)
        {
            rabbit = rabbit.WithExchange(exchange);
        }

        return rabbit;
    }
}
