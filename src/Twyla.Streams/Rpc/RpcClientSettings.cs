using System.Collections.Frozen;
using System.Text.Json;

namespace Twyla.Streams.Rpc;

/// <summary>
/// Settings of an <see cref="RpcClient"/>: where services live, how bodies are (de)serialized, the default
/// <see cref="RpcCallSettings"/> and the per-service circuit breaker. Immutable: start from <see cref="Default"/> (or
/// <see cref="Create"/>) and use the <c>With*</c> methods.
/// </summary>
/// <remarks>
/// A service name resolves to its entry in <see cref="Services"/> (configuration key
/// <c>Twyla:Rpc:Services:{name}</c> when bound by Twyla.Streams.Hosting), else to <see cref="UrlTemplate"/> with
/// <c>{service}</c> replaced (default <c>http://{service}</c>, the Kubernetes service DNS name). With no entry and
/// no template, a call fails with <see cref="RpcFailureCodes.UnknownService"/>.
/// </remarks>
public sealed class RpcClientSettings
{
    /// <summary>The default URL template.</summary>
    public const string DefaultUrlTemplate = "http://{service}";

    private RpcClientSettings(
        IReadOnlyDictionary<string, Uri> services,
        string urlTemplate,
        JsonSerializerOptions jsonOptions,
        RpcCallSettings callDefaults,
        bool circuitBreakerEnabled,
        double failureRatio,
        int minimumThroughput,
        TimeSpan samplingDuration,
        TimeSpan breakDuration)
    {
        Services = services;
        UrlTemplate = urlTemplate;
        JsonOptions = jsonOptions;
        CallDefaults = callDefaults;
        CircuitBreakerEnabled = circuitBreakerEnabled;
        CircuitBreakerFailureRatio = failureRatio;
        CircuitBreakerMinimumThroughput = minimumThroughput;
        CircuitBreakerSamplingDuration = samplingDuration;
        CircuitBreakerBreakDuration = breakDuration;
    }

    /// <summary>Base URLs of services by name (configuration first).</summary>
    public IReadOnlyDictionary<string, Uri> Services { get; }

    /// <summary>The template for services without an entry, with <c>{service}</c>; empty when disabled.</summary>
    public string UrlTemplate { get; }

    /// <summary>How request and response bodies are (de)serialized (default: <see cref="EventBusSettings.DefaultJsonOptions"/>).</summary>
    public JsonSerializerOptions JsonOptions { get; }

    /// <summary>The call settings used when a call or flow is given none.</summary>
    public RpcCallSettings CallDefaults { get; }

    /// <summary>Whether each service has a circuit breaker (default <c>true</c>).</summary>
    public bool CircuitBreakerEnabled { get; }

    /// <summary>The share of failed attempts in the sampling window that opens the circuit (default 0.5).</summary>
    public double CircuitBreakerFailureRatio { get; }

    /// <summary>How many attempts the window must hold before it can open the circuit (default 10).</summary>
    public int CircuitBreakerMinimumThroughput { get; }

    /// <summary>The sampling window (default 30 s).</summary>
    public TimeSpan CircuitBreakerSamplingDuration { get; }

    /// <summary>How long an open circuit short-circuits calls before it lets one through (default 5 s).</summary>
    public TimeSpan CircuitBreakerBreakDuration { get; }

    /// <summary>The defaults: no configured services, template <c>http://{service}</c>, a circuit breaker per service.</summary>
    public static RpcClientSettings Default { get; } =
        new(
            FrozenDictionary<string, Uri>.Empty,
            DefaultUrlTemplate,
            EventBusSettings.DefaultJsonOptions,
            RpcCallSettings.Default,
            true,
            0.5,
            10,
            TimeSpan.FromSeconds(30),
            TimeSpan.FromSeconds(5));

    /// <summary>The <see cref="Default"/> settings, to change with the <c>With*</c> methods.</summary>
    /// <returns>The settings.</returns>
    public static RpcClientSettings Create() => Default;

    /// <summary>A copy where <paramref name="service"/> lives at <paramref name="baseAddress"/>.</summary>
    /// <param name="service">The service name, e.g. <c>navitaire-api</c>.</param>
    /// <param name="baseAddress">An absolute http(s) URL; <c>/rpc/{procedure}</c> is appended to its path.</param>
    /// <returns>The new settings.</returns>
    public RpcClientSettings WithService(string service, Uri baseAddress)
    {
        var services = new Dictionary<string, Uri>(Services, StringComparer.Ordinal) { [ValidateService(service)] = ValidateUri(baseAddress) };
        return Copy(services: services.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>A copy whose configured services are exactly <paramref name="services"/>.</summary>
    /// <param name="services">Base URLs by service name.</param>
    /// <returns>The new settings.</returns>
    public RpcClientSettings WithServices(IReadOnlyDictionary<string, Uri> services)
    {
        ArgumentNullException.ThrowIfNull(services);
        var copy = new Dictionary<string, Uri>(StringComparer.Ordinal);
        foreach (var (service, uri) in services)
        {
            copy[ValidateService(service)] = ValidateUri(uri);
        }

        return Copy(services: copy.ToFrozenDictionary(StringComparer.Ordinal));
    }

    /// <summary>A copy with another URL template for services without an entry.</summary>
    /// <param name="urlTemplate">An absolute URL containing <c>{service}</c>, e.g. <c>http://{service}.prod.svc:8080</c>.</param>
    /// <returns>The new settings.</returns>
    public RpcClientSettings WithUrlTemplate(string urlTemplate)
    {
        ArgumentNullException.ThrowIfNull(urlTemplate);
        if (!urlTemplate.Contains("{service}", StringComparison.Ordinal) ||
            !Uri.TryCreate(urlTemplate.Replace("{service}", "x", StringComparison.Ordinal), UriKind.Absolute, out var probe) ||
            (probe.Scheme != Uri.UriSchemeHttp && probe.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException("The URL template must be an absolute http(s) URL containing '{service}', for example 'http://{service}'.", nameof(urlTemplate));
        }

        return Copy(urlTemplate: urlTemplate);
    }

    /// <summary>A copy without URL template: only configured services resolve.</summary>
    /// <returns>The new settings.</returns>
    public RpcClientSettings WithoutUrlTemplate() => Copy(urlTemplate: string.Empty);

    /// <summary>A copy with other JSON options.</summary>
    /// <param name="jsonOptions">The options; they are made read-only.</param>
    /// <returns>The new settings.</returns>
    public RpcClientSettings WithJsonOptions(JsonSerializerOptions jsonOptions)
    {
        ArgumentNullException.ThrowIfNull(jsonOptions);
        jsonOptions.MakeReadOnly(populateMissingResolver: true);
        return Copy(jsonOptions: jsonOptions);
    }

    /// <summary>A copy with other default call settings.</summary>
    /// <param name="callDefaults">The settings used when a call or flow is given none.</param>
    /// <returns>The new settings.</returns>
    public RpcClientSettings WithCallDefaults(RpcCallSettings callDefaults)
    {
        ArgumentNullException.ThrowIfNull(callDefaults);
        return Copy(callDefaults: callDefaults);
    }

    /// <summary>
    /// A copy with a circuit breaker per service (Polly): when at least <paramref name="minimumThroughput"/>
    /// attempts in <paramref name="samplingDuration"/> failed in a ratio of at least <paramref name="failureRatio"/>,
    /// calls to the service fail with <see cref="RpcFailureCodes.CircuitOpen"/> for <paramref name="breakDuration"/>,
    /// then one trial call decides whether it closes again. Transport errors, 5xx, 408, 429 and timeouts count as
    /// failures.
    /// </summary>
    /// <param name="failureRatio">Greater than 0, at most 1.</param>
    /// <param name="minimumThroughput">At least 2.</param>
    /// <param name="samplingDuration">At least 500 ms.</param>
    /// <param name="breakDuration">At least 500 ms.</param>
    /// <returns>The new settings.</returns>
    public RpcClientSettings WithCircuitBreaker(double failureRatio, int minimumThroughput, TimeSpan samplingDuration, TimeSpan breakDuration)
    {
        if (failureRatio is <= 0 or > 1 || double.IsNaN(failureRatio))
        {
            throw new ArgumentOutOfRangeException(nameof(failureRatio), failureRatio, "The failure ratio must be greater than 0 and at most 1.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(minimumThroughput, 2);
        ArgumentOutOfRangeException.ThrowIfLessThan(samplingDuration, TimeSpan.FromMilliseconds(500));
        ArgumentOutOfRangeException.ThrowIfLessThan(breakDuration, TimeSpan.FromMilliseconds(500));
        return Copy(
            circuitBreakerEnabled: true,
            failureRatio: failureRatio,
            minimumThroughput: minimumThroughput,
            samplingDuration: samplingDuration,
            breakDuration: breakDuration);
    }

    /// <summary>A copy without circuit breakers.</summary>
    /// <returns>The new settings.</returns>
    public RpcClientSettings WithoutCircuitBreaker() => Copy(circuitBreakerEnabled: false);

    /// <summary>The base URL of <paramref name="service"/>, or <c>null</c> when it cannot be resolved.</summary>
    internal Uri? Resolve(string service)
    {
        if (Services.TryGetValue(service, out var uri))
        {
            return uri;
        }

        return UrlTemplate.Length == 0
            ? null
            : Uri.TryCreate(UrlTemplate.Replace("{service}", service, StringComparison.Ordinal), UriKind.Absolute, out var resolved) ? resolved : null;
    }

    private RpcClientSettings Copy(
        IReadOnlyDictionary<string, Uri>? services = null,
        string? urlTemplate = null,
        JsonSerializerOptions? jsonOptions = null,
        RpcCallSettings? callDefaults = null,
        bool? circuitBreakerEnabled = null,
        double? failureRatio = null,
        int? minimumThroughput = null,
        TimeSpan? samplingDuration = null,
        TimeSpan? breakDuration = null) =>
        new(
            services ?? Services,
            urlTemplate ?? UrlTemplate,
            jsonOptions ?? JsonOptions,
            callDefaults ?? CallDefaults,
            circuitBreakerEnabled ?? CircuitBreakerEnabled,
            failureRatio ?? CircuitBreakerFailureRatio,
            minimumThroughput ?? CircuitBreakerMinimumThroughput,
            samplingDuration ?? CircuitBreakerSamplingDuration,
            breakDuration ?? CircuitBreakerBreakDuration);

    private static string ValidateService(string service)
    {
        if (!RpcProcedureName.IsValidProcedure(service))
        {
            throw new ArgumentException(
                $"'{service}' is not a valid service name: lower-case letters, digits, '-' and '_', for example 'navitaire-api'.", nameof(service));
        }

        return service;
    }

    private static Uri ValidateUri(Uri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (!uri.IsAbsoluteUri || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            throw new ArgumentException($"'{uri}' is not an absolute http(s) URL.", nameof(uri));
        }

        return uri;
    }
}
