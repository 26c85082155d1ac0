using System.Collections.Concurrent;
using System.Net;
using Akka.Hosting;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;
using Twyla.Streams.Transport;

namespace Twyla.Streams.IntegrationTests.Infrastructure;

/// <summary>
/// The hosted entry points of the fault matrix in one ASP.NET Core host made as a service makes it (<c>AddTwylaEvents</c>,
/// <c>AddAkka</c>): a hosted scoped listener whose handler calls <c>bus.EmitAsync(e.Derive(...))</c> (the README's
/// pattern), counting each event it finished by its payload key, and a <c>MapRpcFlow</c> procedure <c>billing.bill</c>
/// that emits on the host's bus.
/// </summary>
internal sealed class HostedEntryPoints : IAsyncDisposable
{
    public const string Pattern = "hosted.booking";

    private readonly WebApplication _app;
    private readonly RpcClient _client;

    private HostedEntryPoints(WebApplication app, RpcClient client, string group, ConcurrentDictionary<int, int> handled)
    {
        _app = app;
        _client = client;
        Group = group;
        Handled = handled;
    }

    public string Group { get; }

    /// <summary>The group's queue.</summary>
    public string Queue => $"{Pattern}.{Group}";

    /// <summary>How many times the hosted listener's handler finished each payload number.</summary>
    public ConcurrentDictionary<int, int> Handled { get; }

    /// <summary>The host's bus.</summary>
    public EventBus Bus => _app.Services.GetRequiredService<EventBus>();

    /// <summary>Starts the host on the broker at <paramref name="uri"/> (then <paramref name="clusterHosts"/>) with a listener of <paramref name="queueType"/>.</summary>
    public static async Task<HostedEntryPoints> StartAsync(
        string uri, IEnumerable<string> clusterHosts, string exchange, QueueType queueType, TimeSpan callTimeout)
    {
        var group = TestEvents.Group();
        var handled = new ConcurrentDictionary<int, int>();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.AddTwylaEvents(o =>
        {
            o.Amqp.Uri = uri;
            o.Amqp.ClusterHosts = string.Join(',', clusterHosts);
            o.Exchange = exchange;
            o.ServiceName = "hosted-matrix";
        });
        builder.Services.AddAkka("hosted-matrix", akka => akka.WithTwylaScopedListener<Booked>(
            Pattern,
            group,
            async (services, e) =>
            {
                await services.GetRequiredService<EventBus>().EmitAsync(e.Derive("hosted.billed", new Booked(e.Payload.N)));
                handled.AddOrUpdate(e.Payload.N, 1, (_, n) => n + 1);
            },
            new TwylaListenerOptions
            {
                QueueType = queueType,
                MinBackoff = TimeSpan.FromMilliseconds(200),
                MaxBackoff = TimeSpan.FromSeconds(2),
                // Shorter than the default 1 s, 5 s, 30 s, still longer in total (66 s) than a leader election here.
                RetryDelays = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(60)],
            }));
        var app = builder.Build();
        app.MapRpcFlow("bill", FlowWithContext.Create<Booked, RpcContext>().SelectAsync(1, async b =>
        {
            await app.Services.GetRequiredService<EventBus>().EmitAsync("hosted.billed", new Booked(b.N));
            return new Booked(b.N);
        }));
        await app.StartAsync();
        var client = new RpcClient(RpcClientSettings.Create()
            .WithService("billing", new Uri(app.Urls.First()))
            .WithoutCircuitBreaker()
            .WithCallDefaults(RpcCallSettings.Create().WithTimeout(callTimeout)));
        return new HostedEntryPoints(app, client, group, handled);
    }

    /// <summary>Calls <c>billing.bill</c>, whose procedure emits on the host's bus.</summary>
    public Task<RpcResult<Booked>> CallAsync(int n) => _client.CallAsync<Booked, Booked>("billing.bill", new Booked(n), CancellationToken.None);

    /// <summary>The host's health report, as its health endpoint would give it.</summary>
    public Task<HealthReport> HealthAsync() => _app.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

/// <summary>The payload of the hosted entry points.</summary>
public sealed record Booked(int N);
