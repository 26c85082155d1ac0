using System.Collections.Concurrent;
using System.Net;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Testing;

/// <summary>A call of the fault matrix's procedure <c>billing.bill</c>.</summary>
public sealed record Bill(int N);

/// <summary>What the fault matrix's emitting entry points emit (no test listens to it), and <c>billing.bill</c>'s answer.</summary>
public sealed record Billed(int N);

/// <summary>
/// The hosted listener of the fault matrix's hosted cells (tests/README.md), for the integration and the hosting tests
/// alike: a scoped handler that calls <c>bus.EmitAsync(e.Derive(...))</c> (the README's pattern) and then counts the
/// event as handled, and its restart and retry options. Linked into both test projects.
/// </summary>
internal static class BillingListener
{
    /// <summary>The name of the events the entry points emit.</summary>
    public const string BilledEvent = "matrix.billed";

    /// <summary>
    /// Restarts after 200 ms, doubling up to 2 s; failed handlers are retried after 1 s, 5 s and
    /// <paramref name="lastRetry"/> (the default is 1 s, 5 s, 30 s), so a fault outlasts no retry.
    /// </summary>
    public static TwylaListenerOptions Options(TimeSpan lastRetry) => new()
    {
        MinBackoff = TimeSpan.FromMilliseconds(200),
        MaxBackoff = TimeSpan.FromSeconds(2),
        RetryDelays = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), lastRetry],
    };

    /// <summary>Emits a <see cref="Billed"/> caused by each event on the host's bus, then counts the event in <paramref name="handled"/> by its number.</summary>
    public static Func<IServiceProvider, Event<T>, Task> EmitThenCount<T>(Func<T, int> number, ConcurrentDictionary<int, int> handled) =>
        async (services, e) =>
        {
            var n = number(e.Payload);
            await services.GetRequiredService<EventBus>().EmitAsync(e.Derive(BilledEvent, new Billed(n)));
            handled.AddOrUpdate(n, 1, (_, count) => count + 1);
        };
}

/// <summary>
/// A Kestrel host on a free loopback port whose <c>MapRpcFlow</c> procedure <c>billing.bill</c> emits a
/// <see cref="Billed"/> on a bus and answers it, and a client of it without a circuit breaker. Linked into the
/// integration and the hosting tests.
/// </summary>
internal sealed class BillingServer : IAsyncDisposable
{
    private readonly RpcClient _client;

    private BillingServer(WebApplication app, RpcClient client)
    {
        App = app;
        _client = client;
    }

    /// <summary>The host.</summary>
    public WebApplication App { get; }

    /// <summary>A slim builder without logging, listening on a free loopback port; the caller adds Akka (and maybe the bus).</summary>
    public static WebApplicationBuilder NewBuilder()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        return builder;
    }

    /// <summary>Builds and starts the host of <paramref name="builder"/>; <c>billing.bill</c> emits on the bus <paramref name="busOf"/> gives for each call.</summary>
    public static async Task<BillingServer> StartAsync(WebApplicationBuilder builder, Func<WebApplication, EventBus> busOf, TimeSpan callTimeout)
    {
        var app = builder.Build();
        app.MapRpcFlow("bill", FlowWithContext.Create<Bill, RpcContext>().SelectAsync(1, async b =>
        {
            await busOf(app).EmitAsync(BillingListener.BilledEvent, new Billed(b.N));
            return new Billed(b.N);
        }));
        await app.StartAsync();
        var client = new RpcClient(RpcClientSettings.Create()
            .WithService("billing", new Uri(app.Urls.First()))
            .WithoutCircuitBreaker()
            .WithCallDefaults(RpcCallSettings.Create().WithTimeout(callTimeout)));
        return new BillingServer(app, client);
    }

    /// <summary>Calls <c>billing.bill</c>, whose procedure emits.</summary>
    public Task<RpcResult<Billed>> CallAsync(int n) => _client.CallAsync<Bill, Billed>("billing.bill", new Bill(n), CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
