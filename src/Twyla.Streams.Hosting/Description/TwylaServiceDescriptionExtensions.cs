using System.Reflection;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting.Listeners;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Hosting;

/// <summary>
/// The service's machine-readable description: an AsyncAPI 3.0 document of the events it consumes (its hosted
/// listeners) and emits (declared with <see cref="AddTwylaEmits{T}"/>), listing the procedures it serves, whose
/// request and response schemas are in ASP.NET Core's OpenAPI document (<c>AddOpenApi()</c>/<c>MapOpenApi()</c>).
/// </summary>
/// <remarks>
/// <para>C#: <c>builder.Services.AddTwylaEmits&lt;BookingConfirmed&gt;("booking.confirmed"); … app.MapTwylaAsyncApi();</c>.
/// F#: <c>builder.Services.AddTwylaEmits&lt;BookingConfirmed&gt;("booking.confirmed") |&gt; ignore</c> and
/// <c>app.MapTwylaAsyncApi() |&gt; ignore</c>.</para>
/// </remarks>
public static class TwylaServiceDescriptionExtensions
{
    /// <summary>The path <see cref="MapTwylaAsyncApi(IEndpointRouteBuilder)"/> serves the document at.</summary>
    public const string AsyncApiPath = Description.AsyncApiDocument.DefaultPath;

    /// <summary>
    /// Declares that the service emits <paramref name="eventName"/> events with <typeparamref name="T"/> payloads, so
    /// the AsyncAPI document lists them (a <c>send</c> operation with the payload's contract schema). Declaring does
    /// not restrict what the service may emit.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="services">The service collection.</param>
    /// <param name="eventName">The event name, e.g. <c>booking.confirmed</c>.</param>
    /// <returns>The same service collection.</returns>
    /// <exception cref="ArgumentException"><paramref name="eventName"/> is not a valid event name.</exception>
    public static IServiceCollection AddTwylaEmits<T>(this IServiceCollection services, string eventName)
    {
        ArgumentNullException.ThrowIfNull(services);
        if (!EventName.IsValid(eventName))
        {
            throw new ArgumentException(
                $"'{eventName}' is not an event name: lower-case letters, digits, '-' and '.', with at least one dot (e.g. booking.confirmed).",
                nameof(eventName));
        }

        services.AddSingleton(new Description.EmittedEvents(eventName, typeof(T)));
        return services;
    }

    /// <summary>
    /// Serves the AsyncAPI 3.0 document (JSON) at <c>GET /asyncapi.json</c> (<see cref="AsyncApiPath"/>). The document
    /// is built at each request: it lists the listeners running at that moment, the declared emits and the procedures
    /// mapped on <paramref name="endpoints"/>.
    /// </summary>
    /// <param name="endpoints">The application or a route group.</param>
    /// <returns>The endpoint's convention builder (for authorization, caching).</returns>
    public static IEndpointConventionBuilder MapTwylaAsyncApi(this IEndpointRouteBuilder endpoints) =>
        endpoints.MapTwylaAsyncApi(AsyncApiPath);

    /// <summary>Serves the AsyncAPI 3.0 document (JSON) at <c>GET <paramref name="pattern"/></c>.</summary>
    /// <param name="endpoints">The application or a route group.</param>
    /// <param name="pattern">The route, e.g. <c>/docs/asyncapi.json</c>.</param>
    /// <returns>The endpoint's convention builder.</returns>
    public static IEndpointConventionBuilder MapTwylaAsyncApi(this IEndpointRouteBuilder endpoints, string pattern)
    {
        ArgumentNullException.ThrowIfNull(endpoints);
        ArgumentException.ThrowIfNullOrWhiteSpace(pattern);
        return endpoints.MapGet(pattern, http =>
            {
                var document = Description.AsyncApiDocument.Build(Describe(http.RequestServices, endpoints));
                http.Response.ContentType = "application/json; charset=utf-8";
                return http.Response.WriteAsync(document.ToJsonString(), Encoding.UTF8, http.RequestAborted);
            })
            .WithDisplayName("Twyla AsyncAPI document")
            .ExcludeFromDescription();
    }

    private static Description.ServiceDescription Describe(IServiceProvider services, IEndpointRouteBuilder endpoints)
    {
        var bus = services.GetService<EventBus>();
        var options = services.GetService<IOptions<TwylaOptions>>()?.Value;
        var listeners = services.GetService<TwylaListeners>()?.Listeners ?? [];
        var procedures = endpoints.DataSources
            .SelectMany(d => d.Endpoints)
            .Select(e => e.Metadata.GetMetadata<RpcProcedureMetadata>())
            .OfType<RpcProcedureMetadata>()
            .Select(p => new Description.ServedProcedure(p.Procedure, p.Path));
        var entry = Assembly.GetEntryAssembly();
        return new Description.ServiceDescription(
            bus?.Settings.ServiceName ?? services.GetService<IHostEnvironment>()?.ApplicationName ?? "twyla-service",
            entry?.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? entry?.GetName().Version?.ToString() ?? "1.0.0",
            options?.Exchange ?? RabbitMqSettings.DefaultExchange,
            [.. listeners.Select(l => new Description.ConsumedEvents(l.Pattern, l.Group, l.PayloadType))],
            [.. services.GetServices<Description.EmittedEvents>().Distinct()], // declared twice, listed once
            [.. procedures],
            bus?.Settings.JsonOptions ?? EventBusSettings.DefaultJsonOptions);
    }
}
