using System.Collections.Concurrent;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Twyla.Streams.Hosting;
using Twyla.Streams.Rpc;
using Twyla.Streams.Testing;
using Twyla.Streams.Transport;

namespace Twyla.Streams.IntegrationTests.Infrastructure;

/// <summary>
/// The hosted entry points of the fault matrix in one ASP.NET Core host made as a service makes it (<c>AddTwylaEvents</c>,
/// <c>AddAkka</c>): a hosted scoped listener whose handler calls <c>bus.EmitAsync(e.Derive(...))</c> (the README's
/// pattern), counting each event it finished by its payload key, and a <c>MapRpcFlow</c> procedure <c>billing.bill</c>
/// that emits on the host's bus (both from tests/Shared/BillingEntryPoints.cs).
/// </summary>
internal sealed class HostedEntryPoints : IAsyncDisposable
{
    public const string Pattern = "hosted.booking";

    private readonly BillingServer _server;

    private HostedEntryPoints(BillingServer server, string group, ConcurrentDictionary<int, int> handled)
    {
        _server = server;
        Group = group;
        Handled = handled;
    }

    public string Group { get; }

    /// <summary>The group's queue.</summary>
    public string Queue => $"{Pattern}.{Group}";

    /// <summary>How many times the hosted listener's handler finished each payload number.</summary>
    public ConcurrentDictionary<int, int> Handled { get; }

    /// <summary>The host's bus.</summary>
    public EventBus Bus => _server.App.Services.GetRequiredService<EventBus>();

    /// <summary>Starts the host on the broker at <paramref name="uri"/> (then <paramref name="clusterHosts"/>) with a listener of <paramref name="queueType"/>.</summary>
    public static async Task<HostedEntryPoints> StartAsync(
        string uri, IEnumerable<string> clusterHosts, string exchange, QueueType queueType, TimeSpan callTimeout)
    {
        var group = TestEvents.Group();
        var handled = new ConcurrentDictionary<int, int>();
        var builder = BillingServer.NewBuilder();
        builder.Services.AddTwylaEvents(o =>
        {
            o.Amqp.Uri = uri;
            o.Amqp.ClusterHosts = string.Join(',', clusterHosts);
            o.Exchange = exchange;
            o.ServiceName = "hosted-matrix";
        });
        // Retries 1 s, 5 s, 60 s: longer in total (66 s) than a leader election here.
        var options = BillingListener.Options(TimeSpan.FromSeconds(60));
        options.QueueType = queueType;
        builder.Services.AddAkka("hosted-matrix", akka => akka.WithTwylaScopedListener(
            Pattern, group, BillingListener.EmitThenCount<Booked>(b => b.N, handled), options));
        var server = await BillingServer.StartAsync(builder, app => app.Services.GetRequiredService<EventBus>(), callTimeout);
        return new HostedEntryPoints(server, group, handled);
    }

    /// <summary>Calls <c>billing.bill</c>, whose procedure emits on the host's bus.</summary>
    public Task<RpcResult<Billed>> CallAsync(int n) => _server.CallAsync(n);

    /// <summary>The host's health report, as its health endpoint would give it.</summary>
    public Task<HealthReport> HealthAsync() => _server.App.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync();

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

/// <summary>The payload of the hosted entry points.</summary>
public sealed record Booked(int N);
