using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Hosting.Configuration;

/// <summary>
/// Binds <see cref="TwylaOptions"/> from the section <c>Twyla</c> of a configuration root and the platform's classic
/// <c>TWYLA_AMQP_*</c> variables (root keys, which the Generic Host fills from the environment). Parses every value
/// itself so a bad one fails with a message naming the key and the accepted values, never a binder stack trace.
/// </summary>
internal static class TwylaOptionsBinder
{
    /// <summary>Throws <see cref="OptionsValidationException"/> listing every invalid key.</summary>
    public static void Bind(TwylaOptions options, IConfiguration configuration)
    {
        var errors = new List<string>();
        var section = configuration.GetSection(TwylaOptions.SectionName);
        var amqp = options.Amqp ??= new TwylaAmqpOptions();

        options.Transport = ParseEnum<TwylaTransport>(section, "Transport", errors) ?? options.Transport;
        options.ServiceName = Text(section, "ServiceName") ?? options.ServiceName;
        options.Exchange = Text(section, "Exchange") ?? options.Exchange;
        options.Prefetch = ParseInt(section, "Prefetch", 1, 65535, "a number of events from 1 to 65535", errors) ?? options.Prefetch;
        options.MaxDeliveries = ParseInt(section, "MaxDeliveries", 1, 1000, "a number of deliveries from 1 to 1000", errors) ?? options.MaxDeliveries;
        options.Parallelism = ParseInt(section, "Parallelism", 1, 10_000, "a number of handlers from 1 to 10000", errors) ?? options.Parallelism;
        options.QueueType = ParseEnum<QueueType>(section, "QueueType", errors) ?? options.QueueType;
        options.DrainTimeout = ParseDuration(section, "DrainTimeout", allowZero: true, errors) ?? options.DrainTimeout;
        options.MinBackoff = ParseDuration(section, "MinBackoff", allowZero: false, errors) ?? options.MinBackoff;
        options.MaxBackoff = ParseDuration(section, "MaxBackoff", allowZero: false, errors) ?? options.MaxBackoff;

        var amqpSection = section.GetSection("Amqp");
        amqp.Uri = Text(amqpSection, "Uri") ?? amqp.Uri;
        amqp.Host = Text(amqpSection, "Host") ?? amqp.Host;
        amqp.Port = ParsePort(amqpSection, "Port", errors) ?? amqp.Port;
        amqp.User = Text(amqpSection, "User") ?? amqp.User;
        amqp.Password = Text(amqpSection, "Password") ?? amqp.Password;
        amqp.VirtualHost = Text(amqpSection, "VirtualHost") ?? amqp.VirtualHost;

        // The platform's classic variables are set by deployments: they win over files.
        amqp.Host = Text(configuration, "TWYLA_AMQP_HOST") ?? amqp.Host;
        amqp.Port = ParsePort(configuration, "TWYLA_AMQP_PORT", errors) ?? amqp.Port;
        amqp.User = Text(configuration, "TWYLA_AMQP_USER") ?? amqp.User;
        amqp.Password = Text(configuration, "TWYLA_AMQP_PASS") ?? amqp.Password;
        amqp.VirtualHost = Text(configuration, "TWYLA_AMQP_VHOST") ?? amqp.VirtualHost;

        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(TwylaOptions), errors);
        }
    }

    private static string? Text(IConfiguration configuration, string key)
    {
        var value = configuration[key];
        return string.IsNullOrWhiteSpace(value) ? null : value.Trim();
    }

    private static string KeyOf(IConfiguration configuration, string key) =>
        configuration is IConfigurationSection section ? $"{section.Path}:{key}" : key;

    private static int? ParseInt(IConfiguration configuration, string key, int min, int max, string expected, List<string> errors)
    {
        if (Text(configuration, key) is not { } text)
        {
            return null;
        }

        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        errors.Add($"{KeyOf(configuration, key)} is '{text}': expected {expected}.");
        return null;
    }

    private static int? ParsePort(IConfiguration configuration, string key, List<string> errors) =>
        ParseInt(configuration, key, 1, 65535, "a port number from 1 to 65535", errors);

    private static TEnum? ParseEnum<TEnum>(IConfiguration configuration, string key, List<string> errors)
        where TEnum : struct, Enum
    {
        if (Text(configuration, key) is not { } text)
        {
            return null;
        }

        if (!text.All(char.IsAsciiDigit) && Enum.TryParse<TEnum>(text, ignoreCase: true, out var value) && Enum.IsDefined(value))
        {
            return value;
        }

        errors.Add($"{KeyOf(configuration, key)} is '{text}': accepted values are {string.Join(", ", Enum.GetNames<TEnum>())}.");
        return null;
    }

    private static TimeSpan? ParseDuration(IConfiguration configuration, string key, bool allowZero, List<string> errors)
    {
        if (Text(configuration, key) is not { } text)
        {
            return null;
        }

        TimeSpan? value = null;
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds) &&
            seconds is >= 0 and <= 86_400)
        {
            value = TimeSpan.FromSeconds(seconds);
        }
        else if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span))
        {
            value = span;
        }

        if (value is { } v && (v > TimeSpan.Zero || (allowZero && v == TimeSpan.Zero)))
        {
            return v;
        }

        var least = allowZero ? "zero or more" : "more than zero";
        errors.Add($"{KeyOf(configuration, key)} is '{text}': expected a duration, {least}, as a time span (00:00:20) or a number of seconds (20).");
        return null;
    }
}
