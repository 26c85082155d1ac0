using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Hosting.Configuration;

/// <summary>
/// Binds <see cref="TwylaOptions"/> from the section <c>Twyla</c> of a configuration root and the platform's classic
/// <c>TWYLA_AMQP_*</c> variables (root keys, which the Generic Host fills from the environment). Parses every value
/// itself so a bad one fails with a message naming the key and the accepted values, never a binder stack trace; a key
/// that is no setting (a typo) fails the same way (<see cref="TwylaConfigurationKeys"/>). The section <c>Twyla:Rpc</c>
/// is bound by <see cref="BindRpc"/> with the same rules.
/// </summary>
internal static class TwylaOptionsBinder
{
    /// <summary>Throws <see cref="OptionsValidationException"/> listing every invalid key.</summary>
    public static void Bind(TwylaOptions options, IConfiguration configuration)
    {
        var errors = new List<string>();
        var section = configuration.GetSection(TwylaOptions.SectionName);
        var amqp = options.Amqp ??= new TwylaAmqpOptions();
        TwylaConfigurationKeys.CheckUnknown(section, skip: RpcServiceCollectionExtensions.SectionName, errors);

        options.Transport = ParseEnum<TwylaTransport>(section, "Transport", errors) ?? options.Transport;
        options.ServiceName = Text(section, "ServiceName") ?? options.ServiceName;
        options.Exchange = Text(section, "Exchange") ?? options.Exchange;
        // Whole numbers here; their ranges are the library settings' own, checked by TwylaOptionsValidator.
        options.Prefetch = ParseInt(section, "Prefetch", int.MinValue, int.MaxValue, "a number of events from 1 to 65535", errors) ?? options.Prefetch;
        options.MaxDeliveries = ParseInt(section, "MaxDeliveries", int.MinValue, int.MaxValue, "a number of deliveries from 1 to 1000", errors) ?? options.MaxDeliveries;
        options.Parallelism = ParseInt(section, "Parallelism", int.MinValue, int.MaxValue, "a number of handlers from 1 to 10000", errors) ?? options.Parallelism;
        options.QueueType = ParseEnum<QueueType>(section, "QueueType", errors) ?? options.QueueType;
        options.DrainTimeout = ParseDuration(section, "DrainTimeout", allowZero: true, errors) ?? options.DrainTimeout;
        options.RetryDelays = ParseRetryDelays(section, "RetryDelays", errors) ?? options.RetryDelays;
        options.MinBackoff = ParseDuration(section, "MinBackoff", allowZero: false, errors) ?? options.MinBackoff;
        options.MaxBackoff = ParseDuration(section, "MaxBackoff", allowZero: false, errors) ?? options.MaxBackoff;

        var amqpSection = section.GetSection("Amqp");
        amqp.Uri = Text(amqpSection, "Uri") ?? amqp.Uri;
        amqp.Host = Text(amqpSection, "Host") ?? amqp.Host;
        amqp.Port = ParsePort(amqpSection, "Port", errors) ?? amqp.Port;
        amqp.User = Text(amqpSection, "User") ?? amqp.User;
        amqp.Password = Text(amqpSection, "Password") ?? amqp.Password;
        amqp.VirtualHost = Text(amqpSection, "VirtualHost") ?? amqp.VirtualHost;
        amqp.ClusterHosts = Text(amqpSection, "ClusterHosts") ?? amqp.ClusterHosts;

        // The platform's classic variables are set by deployments: they win over files.
        amqp.Host = Text(configuration, "TWYLA_AMQP_HOST") ?? amqp.Host;
        amqp.Port = ParsePort(configuration, "TWYLA_AMQP_PORT", errors) ?? amqp.Port;
        amqp.User = Text(configuration, "TWYLA_AMQP_USER") ?? amqp.User;
        amqp.Password = Text(configuration, "TWYLA_AMQP_PASS") ?? amqp.Password;
        amqp.VirtualHost = Text(configuration, "TWYLA_AMQP_VHOST") ?? amqp.VirtualHost;

        // Reported by TwylaOptionsValidator together with the ranges it checks, so one failed start names every bad key.
        options.BindingErrors.AddRange(errors);
    }

    /// <summary>
    /// Binds the section <c>Twyla:Rpc</c> and makes the client settings from it; throws
    /// <see cref="OptionsValidationException"/> listing every invalid or unknown key.
    /// </summary>
    public static void BindRpc(TwylaRpcOptions options, IConfiguration configuration)
    {
        var errors = new List<string>();
        var section = configuration.GetSection(RpcServiceCollectionExtensions.SectionName);
        TwylaConfigurationKeys.CheckUnknown(section, skip: null, errors);
        foreach (var entry in section.GetSection(nameof(TwylaRpcOptions.Services)).GetChildren())
        {
            if (Text(entry.Value) is { } url)
            {
                options.Services[entry.Key] = url;
            }
        }

        options.UrlTemplate = section[nameof(TwylaRpcOptions.UrlTemplate)]?.Trim() ?? options.UrlTemplate;
        options.Timeout = ParseDuration(section, nameof(TwylaRpcOptions.Timeout), allowZero: false, errors) ?? options.Timeout;
        var server = section.GetSection(nameof(TwylaRpcOptions.Server));
        options.Server.MaxRequestBodyBytes =
            ParseNumber(server, nameof(RpcServerOptions.MaxRequestBodyBytes), 1, long.MaxValue, "a number of bytes, 1 or more", errors) ??
            options.Server.MaxRequestBodyBytes;
        options.Server.FlowBufferSize =
            (int?)ParseNumber(server, nameof(RpcServerOptions.FlowBufferSize), 1, int.MaxValue, "a number of requests, 1 or more", errors) ??
            options.Server.FlowBufferSize;
        options.Server.FlowAnswerTimeout =
            ParseDuration(server, nameof(RpcServerOptions.FlowAnswerTimeout), allowZero: false, errors) ?? options.Server.FlowAnswerTimeout;
        options.Client = RpcClientSettings(options, section, errors);
        ThrowIfAny(errors, typeof(TwylaRpcOptions));
    }

    /// <summary>An <see cref="ArgumentException"/>'s message without the parameter name the runtime appends.</summary>
    public static string Reason(ArgumentException e) => e.Message.Split(" (Parameter '", 2)[0];

    private static Twyla.Streams.Rpc.RpcClientSettings RpcClientSettings(TwylaRpcOptions options, IConfigurationSection section, List<string> errors)
    {
        var settings = Twyla.Streams.Rpc.RpcClientSettings.Create();
        foreach (var (service, url) in options.Services)
        {
            var key = $"{section.Path}:{nameof(TwylaRpcOptions.Services)}:{service}";
            Apply(key, url, () => settings = settings.WithService(
                service, Uri.TryCreate(url, UriKind.Absolute, out var uri) ? uri : throw new ArgumentException($"'{url}' is not an absolute http(s) URL.")));
        }

        if (options.UrlTemplate is { } template)
        {
            Apply(KeyOf(section, nameof(TwylaRpcOptions.UrlTemplate)), template, () =>
                settings = template.Length == 0 ? settings.WithoutUrlTemplate() : settings.WithUrlTemplate(template));
        }

        if (options.Timeout is { } timeout)
        {
            Apply(KeyOf(section, nameof(TwylaRpcOptions.Timeout)), section[nameof(TwylaRpcOptions.Timeout)] ?? timeout.ToString(), () =>
                settings = settings.WithCallDefaults(settings.CallDefaults.WithTimeout(timeout)));
        }

        return settings;

        void Apply(string key, string text, Action apply)
        {
            try
            {
                apply();
            }
            catch (ArgumentException e)
            {
                errors.Add($"{key} is '{text}': {Reason(e)}");
            }
        }
    }

    private static void ThrowIfAny(List<string> errors, Type optionsType)
    {
        if (errors.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, optionsType, errors);
        }
    }

    private static string? Text(IConfiguration configuration, string key) => Text(configuration[key]);

    private static string? Text(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    private static string KeyOf(IConfiguration configuration, string key) =>
        configuration is IConfigurationSection section ? $"{section.Path}:{key}" : key;

    private static int? ParseInt(IConfiguration configuration, string key, int min, int max, string expected, List<string> errors) =>
        (int?)ParseNumber(configuration, key, min, max, expected, errors);

    private static long? ParseNumber(IConfiguration configuration, string key, long min, long max, string expected, List<string> errors)
    {
        if (Text(configuration, key) is not { } text)
        {
            return null;
        }

        if (long.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value >= min && value <= max)
        {
            return value;
        }

        errors.Add($"{KeyOf(configuration, key)} is '{text}': expected {expected}.");
        return null;
    }

    private static int? ParsePort(IConfiguration configuration, string key, List<string> errors) =>
        ParseInt(configuration, key, int.MinValue, int.MaxValue, "a port number from 1 to 65535", errors);

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

        if (TryParseDuration(text) is { } v && (v > TimeSpan.Zero || (allowZero && v == TimeSpan.Zero)))
        {
            return v;
        }

        var least = allowZero ? "zero or more" : "more than zero";
        errors.Add($"{KeyOf(configuration, key)} is '{text}': expected a duration, {least}, as a time span (00:00:20) or a number of seconds (20).");
        return null;
    }

    /// <summary>
    /// Retry delays: one key with durations separated by commas (<c>1,5,30</c>), or a list (<c>RetryDelays:0</c>, …);
    /// the rule for each delay and the list is the library's (<see cref="Events.ListenSettings.WithRetryDelays"/>).
    /// </summary>
    private static TimeSpan[]? ParseRetryDelays(IConfigurationSection section, string key, List<string> errors)
    {
        var inline = section[key];
        var list = section.GetSection(key).GetChildren().Select(c => c.Value).Where(v => v is not null).ToArray();
        if (inline is null && list.Length == 0)
        {
            return null;
        }

        var texts = inline is not null ? inline.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) : list!;
        var parsed = texts.Select(TryParseDuration).ToArray();
        var bad = parsed.Any(d => d is null);
        var delays = parsed.OfType<TimeSpan>().ToList();

        var shown = inline ?? string.Join(",", list);
        try
        {
            if (!bad)
            {
                _ = Events.ListenSettings.Default.WithRetryDelays(delays);
                return [.. delays];
            }
        }
        catch (ArgumentException e)
        {
            errors.Add($"{KeyOf(section, key)} is '{shown}': {Reason(e)}");
            return null;
        }

        errors.Add($"{KeyOf(section, key)} is '{shown}': expected durations separated by commas, as time spans (00:00:05) or numbers of seconds (5).");
        return null;
    }

    /// <summary>A duration as configuration writes it: a number of seconds (0 to a day) or a time span; <c>null</c> otherwise.</summary>
    private static TimeSpan? TryParseDuration(string? text)
    {
        if (double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && double.IsFinite(seconds) &&
            seconds is >= 0 and <= 86_400)
        {
            return TimeSpan.FromSeconds(seconds);
        }

        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) ? span : null;
    }
}
