using Microsoft.Extensions.Options;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Hosting.Configuration;

/// <summary>Checks values set in code (the binder already checked what came from configuration).</summary>
internal sealed class TwylaOptionsValidator : IValidateOptions<TwylaOptions>
{
    public ValidateOptionsResult Validate(string? name, TwylaOptions options)
    {
        var errors = new List<string>();
        if (options.Transport is { } transport && !Enum.IsDefined(transport))
        {
            errors.Add($"Twyla:Transport is '{transport}': accepted values are {string.Join(", ", Enum.GetNames<TwylaTransport>())}.");
        }

        if (options.ServiceName is { } serviceName && string.IsNullOrWhiteSpace(serviceName))
        {
            errors.Add("Twyla:ServiceName is empty: expected the service's name, for example 'booking-api'.");
        }

        if (options.Exchange is { } exchange && string.IsNullOrWhiteSpace(exchange))
        {
            errors.Add("Twyla:Exchange is empty: expected an exchange name, for example 'twyla.events'.");
        }

        Range(errors, "Twyla:Prefetch", options.Prefetch, 1, 65535);
        Range(errors, "Twyla:MaxDeliveries", options.MaxDeliveries, 1, 1000);
        Range(errors, "Twyla:Parallelism", options.Parallelism, 1, 10_000);
        Range(errors, "Twyla:Amqp:Port", options.Amqp?.Port, 1, 65535);
        if (options.QueueType is { } queueType && !Enum.IsDefined(queueType))
        {
            errors.Add($"Twyla:QueueType is '{queueType}': accepted values are Classic, Quorum.");
        }

        if (options.DrainTimeout < TimeSpan.Zero)
        {
            errors.Add($"Twyla:DrainTimeout is '{options.DrainTimeout}': expected zero or more.");
        }

        if (options.MinBackoff <= TimeSpan.Zero || options.MaxBackoff <= TimeSpan.Zero)
        {
            errors.Add("Twyla:MinBackoff and Twyla:MaxBackoff must be more than zero.");
        }

        if (options.MinBackoff is { } min && options.MaxBackoff is { } max && min > max)
        {
            errors.Add($"Twyla:MinBackoff ({min}) is more than Twyla:MaxBackoff ({max}).");
        }

        if (options.Amqp?.Uri is { } uri)
        {
            try
            {
                _ = RabbitMqSettings.FromUri(uri); // the AMQP URI's rules are the settings'
            }
            catch (ArgumentException e)
            {
                errors.Add($"Twyla:Amqp:Uri: {TwylaOptionsBinder.Reason(e)}");
            }
        }

        if (options.Amqp?.ClusterHostList is { Length: > 0 } hosts)
        {
            try
            {
                _ = RabbitMqSettings.Create().WithClusterHosts(hosts); // the host rules are the settings'
            }
            catch (ArgumentException e)
            {
                errors.Add($"Twyla:Amqp:ClusterHosts is '{options.Amqp.ClusterHosts}': {TwylaOptionsBinder.Reason(e)}");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Range(List<string> errors, string key, int? value, int min, int max)
    {
        if (value is { } v && (v < min || v > max))
        {
            errors.Add($"{key} is '{v}': expected a number from {min} to {max}.");
        }
    }
}
