using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Twyla.Streams;

/// <summary>
/// Settings of an <see cref="EventBus"/>: the service name written as every event's source, how payloads
/// are (de)serialized and where the bus logs. Immutable: start from <see cref="Create"/> and use the
/// <c>With*</c> methods. Unlike the other settings there is no <c>Default</c>: a service name has none.
/// </summary>
public sealed class EventBusSettings
{
    private EventBusSettings(string serviceName, JsonSerializerOptions jsonOptions, ILoggerFactory loggerFactory)
    {
        ServiceName = serviceName;
        JsonOptions = jsonOptions;
        LoggerFactory = loggerFactory;
    }

    /// <summary>The emitting service's name, written as the <c>source</c> of every event.</summary>
    public string ServiceName { get; }

    /// <summary>
    /// How payloads are serialized and validated. The default uses camelCase names and enforces
    /// required members, required constructor parameters and non-nullable annotations.
    /// </summary>
    public JsonSerializerOptions JsonOptions { get; }

    /// <summary>Where the bus and its stages log (warnings for dead-lettered events, restarts).</summary>
    public ILoggerFactory LoggerFactory { get; }

    /// <summary>The JSON options used unless others are given.</summary>
    public static JsonSerializerOptions DefaultJsonOptions { get; } = CreateDefaultJsonOptions();

    /// <summary>Settings for a service called <paramref name="serviceName"/>.</summary>
    /// <param name="serviceName">The service's name (non-empty), e.g. <c>booking-api</c>.</param>
    /// <returns>The settings.</returns>
    public static EventBusSettings Create(string serviceName)
    {
        ValidateServiceName(serviceName);
        return new EventBusSettings(serviceName, DefaultJsonOptions, NullLoggerFactory.Instance);
    }

    /// <summary>A copy with another service name.</summary>
    /// <param name="serviceName">The service's name.</param>
    /// <returns>The new settings.</returns>
    public EventBusSettings WithServiceName(string serviceName)
    {
        ValidateServiceName(serviceName);
        return Copy(serviceName: serviceName);
    }

    /// <summary>A copy with other JSON options.</summary>
    /// <param name="jsonOptions">The options; they are made read-only.</param>
    /// <returns>The new settings.</returns>
    public EventBusSettings WithJsonOptions(JsonSerializerOptions jsonOptions)
    {
        ArgumentNullException.ThrowIfNull(jsonOptions);
        jsonOptions.MakeReadOnly(populateMissingResolver: true);
        return Copy(jsonOptions: jsonOptions);
    }

    /// <summary>A copy that logs to <paramref name="loggerFactory"/>.</summary>
    /// <param name="loggerFactory">The logger factory.</param>
    /// <returns>The new settings.</returns>
    public EventBusSettings WithLoggerFactory(ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(loggerFactory);
        return Copy(loggerFactory: loggerFactory);
    }

    private EventBusSettings Copy(
        string? serviceName = null, JsonSerializerOptions? jsonOptions = null, ILoggerFactory? loggerFactory = null) =>
        new(serviceName ?? ServiceName, jsonOptions ?? JsonOptions, loggerFactory ?? LoggerFactory);

    private static void ValidateServiceName(string? serviceName)
    {
        if (string.IsNullOrWhiteSpace(serviceName))
        {
            throw new ArgumentException("The service name must be non-empty, for example 'booking-api'.", nameof(serviceName));
        }
    }

    private static JsonSerializerOptions CreateDefaultJsonOptions()
    {
        var options = new JsonSerializerOptions(JsonSerializerDefaults.Web)
        {
            RespectNullableAnnotations = true,
            RespectRequiredConstructorParameters = true,
            UnmappedMemberHandling = JsonUnmappedMemberHandling.Skip,
            NumberHandling = JsonNumberHandling.Strict,
            AllowDuplicateProperties = false, // {"seq":1,"seq":2} is ambiguous: refuse it rather than take the last
        };
        options.MakeReadOnly(populateMissingResolver: true);
        return options;
    }
}
