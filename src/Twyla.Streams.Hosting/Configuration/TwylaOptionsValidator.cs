using Microsoft.Extensions.Options;
using Twyla.Streams.Events;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Hosting.Configuration;

/// <summary>
/// Checks the options after binding (what came from configuration and what was set in code): the ranges and rules are
/// the library settings' own (<c>ListenSettings</c>, <c>AckOnCompletionSettings</c>, <c>RabbitMqSettings</c>), applied
/// here and reported with the key, so no range is written twice. The binder only checks that values parse.
/// </summary>
internal sealed class TwylaOptionsValidator : IValidateOptions<TwylaOptions>
{
    public ValidateOptionsResult Validate(string? name, TwylaOptions options)
    {
        var errors = new List<string>(options.BindingErrors);
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

        Rule(errors, "Twyla:Prefetch", options.Prefetch, v => ListenSettings.Default.WithPrefetch(v));
        Rule(errors, "Twyla:MaxDeliveries", options.MaxDeliveries, v => AckOnCompletionSettings.Default.WithMaxDeliveries(v));
        Rule(errors, "Twyla:Parallelism", options.Parallelism, v => AckOnCompletionSettings.Default.WithParallelism(v));
        Rule(errors, "Twyla:Amqp:Port", options.Amqp?.Port, v => RabbitMqSettings.Create().WithPort(v));
        Rule(errors, "Twyla:DrainTimeout", options.DrainTimeout, v => ListenSettings.Default.WithDrainTimeout(v));
        Rule(errors, "Twyla:RetryDelays", options.RetryDelays, v => ListenSettings.Default.WithRetryDelays(v));
        if (options.QueueType is { } queueType && !Enum.IsDefined(queueType))
        {
            errors.Add($"Twyla:QueueType is '{queueType}': accepted values are Classic, Quorum.");
        }

        if (options.MinBackoff is not null || options.MaxBackoff is not null)
        {
            var min = options.MinBackoff ?? Listeners.ListenerSettings.DefaultMinBackoff;
            var max = options.MaxBackoff ?? Listeners.ListenerSettings.DefaultMaxBackoff;
            Apply(errors, "Twyla:MinBackoff, Twyla:MaxBackoff", $"{min}, {max}", () => Listeners.ListenerSettings.CheckBackoff(min, max));
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

    /// <summary>Applies <paramref name="value"/> to the library's settings; their exception is the error, with the key.</summary>
    private static void Rule<T>(List<string> errors, string key, T? value, Action<T> apply)
        where T : struct
    {
        if (value is { } v)
        {
            Apply(errors, key, v.ToString()!, () => apply(v));
        }
    }

    private static void Rule(List<string> errors, string key, TimeSpan[]? value, Action<TimeSpan[]> apply)
    {
        if (value is not null)
        {
            Apply(errors, key, string.Join(",", value), () => apply(value));
        }
    }

    private static void Apply(List<string> errors, string key, string shown, Action apply)
    {
        try
        {
            apply();
        }
        catch (ArgumentException e)
        {
            errors.Add($"{key} is '{shown}': {TwylaOptionsBinder.Reason(e)}");
        }
    }
}
