using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Akka.Actor;
using Akka.Hosting;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Rpc;

public sealed record GetBooking(string Pnr);

public sealed record Booking(string Pnr, string Passenger, string CorrelationId);

public sealed record Job(int Id, string Kind, string Key);

public sealed record Echo(string Text);

public sealed record Relay(string OuterCorrelationId, string InnerCorrelationId, double InnerRemainingMs);

/// <summary>A real Kestrel server on 127.0.0.1 (port 0) serving the test procedures, shared by the RPC tests.</summary>
public sealed class RpcServerFixture : IAsyncLifetime
{
    public const long BodyLimit = 4096;

    /// <summary>How many callers the <c>unordered</c> flow expects (it delays early requests more than later ones).</summary>
    public const int UnorderedCallers = 60;

    /// <summary>How long served flows may take to answer: several seconds, so answered callers make it on a loaded machine.</summary>
    public static readonly TimeSpan FlowAnswerTimeout = TimeSpan.FromSeconds(5);

    private WebApplication? _app;
    private RpcClient? _selfClient;

    public Uri BaseAddress { get; private set; } = new("http://127.0.0.1");

    public ActorSystem System => _app!.Services.GetRequiredService<ActorSystem>();

    public IMaterializer Materializer => System.Materializer();

    private readonly ConcurrentDictionary<string, TaskCompletionSource<TimeSpan>> _slowCancelled = new();

    private readonly ConcurrentDictionary<string, TaskCompletionSource> _slowStarted = new();

    /// <summary>Arrival times (since the key's first call) of each attempt, by key.</summary>
    public ConcurrentDictionary<string, ConcurrentQueue<TimeSpan>> Attempts { get; } = new();

    private readonly ConcurrentDictionary<string, long> _firstAttempt = new();

    public volatile bool BreakerServiceHealthy;

    public int GateConcurrent;

    public int GateMaxConcurrent;

    /// <summary>How many concurrent <c>gate</c> calls each one waits for (the parallelism the test expects).</summary>
    public const int GateTarget = 4;

    public int BreakerServiceCalls;

    /// <summary>
    /// When the <c>slow</c> handler started for the key, and when its token was cancelled (after how long). Call it
    /// before the request, so the test cannot miss either.
    /// </summary>
    public (Task Started, Task<TimeSpan> Cancelled) WatchSlow(string key) => (SlowStarted(key).Task, SlowCancelled(key).Task);

    public RpcClient Client(Func<RpcClientSettings, RpcClientSettings> configure) =>
        new(configure(RpcClientSettings.Create().WithService("test", BaseAddress)));

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.Configure<RpcServerOptions>(o =>
        {
            o.MaxRequestBodyBytes = BodyLimit;
            o.FlowAnswerTimeout = FlowAnswerTimeout;
        });
        builder.Services.AddAkka("rpc-tests", _ => { });
        var app = builder.Build();

        app.MapRpc<GetBooking, Booking>("get_booking", (request, _) =>
            Task.FromResult(new Booking(request.Pnr, "Ada Lovelace", RpcContext.Current?.CorrelationId ?? "none")));

        app.MapRpc<GetBooking, Booking>("fail", (_, _) =>
            throw new InvalidOperationException("secret-detail: connection string Server=db;Password=hunter2"));

        app.MapRpc<Job, Job>("slow", async (job, token) =>
        {
            var started = Stopwatch.GetTimestamp();
            var cancelled = SlowCancelled(job.Key);
            await using var registration = token.Register(() => cancelled.TrySetResult(Stopwatch.GetElapsedTime(started)));
            SlowStarted(job.Key).TrySetResult();
            await Task.Delay(Timeout.Infinite, token);
            return job;
        });

        app.MapRpc<Job, Job>("mixed", async (job, token) =>
        {
            switch (job.Kind)
            {
                case "ok":
                    await Task.Yield();
                    return job;
                case "fail":
                    throw new RpcException("planned_failure", $"job {job.Id} failed as planned", 422);
                default:
                    await Task.Delay(Timeout.Infinite, token);
                    return job;
            }
        });

        // Fails with 503 until the key has been attempted more than job.Id times.
        app.MapRpc<Job, Job>("flaky", (job, _) =>
        {
            var now = Stopwatch.GetTimestamp();
            var first = _firstAttempt.GetOrAdd(job.Key, now);
            var attempts = Attempts.GetOrAdd(job.Key, _ => new ConcurrentQueue<TimeSpan>());
            attempts.Enqueue(Stopwatch.GetElapsedTime(first, now));
            return attempts.Count > job.Id
                ? Task.FromResult(job)
                : throw new RpcException("unavailable", "try again later", 503);
        });

        app.MapRpc<Job, Job>("breaker", (job, _) =>
        {
            Interlocked.Increment(ref BreakerServiceCalls);
            return BreakerServiceHealthy ? Task.FromResult(job) : throw new RpcException("unavailable", "down", 503);
        });

        app.MapRpc<Echo, Echo>("trace", (_, _) => Task.FromResult(new Echo(RpcContext.Current?.TraceParent ?? "none")));

        app.MapRpc<Echo, Echo>("remaining", (_, _) =>
            Task.FromResult(new Echo(((RpcContext.Current?.Deadline - DateTimeOffset.UtcNow)?.TotalMilliseconds ?? -1).ToString(CultureInfo.InvariantCulture))));

        // Calls two procedures of this server from inside a handler: the ambient context passes the chain on.
        app.MapRpc<Echo, Relay>("relay", async (_, token) =>
        {
            var booking = await _selfClient!.CallAsync<GetBooking, Booking>("test.get_booking", new GetBooking("R1"), token);
            var remaining = await _selfClient.CallAsync<Echo, Echo>("test.remaining", new Echo(""), token);
            return new Relay(
                RpcContext.Current!.CorrelationId,
                ((RpcResult<Booking>.Success)booking).Value.CorrelationId,
                double.Parse(((RpcResult<Echo>.Success)remaining).Value.Text, CultureInfo.InvariantCulture));
        });

        app.MapRpc<Job, Job>("gate", async (job, token) =>
        {
            var now = Interlocked.Increment(ref GateConcurrent);
            int max;
            while ((max = Volatile.Read(ref GateMaxConcurrent)) < now && Interlocked.CompareExchange(ref GateMaxConcurrent, now, max) != max)
            {
            }

            // Simulated work that lasts until GateTarget calls overlapped once (at most 2 s), so the test sees the most
            // the client lets through even when requests arrive staggered on a loaded machine.
            var waited = Stopwatch.StartNew();
            while (Volatile.Read(ref GateMaxConcurrent) < GateTarget && waited.Elapsed < TimeSpan.FromSeconds(2))
            {
                await Task.Delay(5, token);
            }

            await Task.Delay(5, token);
            Interlocked.Decrement(ref GateConcurrent);
            return job;
        });

        app.MapRpcFlow("upper", FlowWithContext.Create<Echo, RpcContext>().SelectAsync(4, async e =>
        {
            await Task.Yield();
            return new Echo(e.Text.ToUpperInvariant());
        }));

        app.MapRpcFlow("crashy", FlowWithContext.Create<Echo, RpcContext>().Select(e =>
            e.Text == "crash" ? throw new InvalidOperationException("flow crashed") : new Echo(e.Text + "!")));

        // Later requests overtake earlier ones (the delay shrinks as the number grows), through the escape hatch of
        // FlowWithContext: a flow over (element, context) pairs.
        app.MapRpcFlow("unordered", FlowWithContext.Create<Echo, RpcContext>().Via(
            Flow.Create<(Echo Request, RpcContext Context)>().SelectAsyncUnordered(16, async call =>
            {
                var number = int.Parse(call.Request.Text[(call.Request.Text.IndexOf('-', StringComparison.Ordinal) + 1)..], CultureInfo.InvariantCulture);
                await Task.Delay((UnorderedCallers - number) % 8 * 15);
                return (new Echo(call.Request.Text.ToUpperInvariant()), call.Context);
            })));

        app.MapRpcFlow("filtered", FlowWithContext.Create<Echo, RpcContext>()
            .Where(e => !e.Text.StartsWith("skip", StringComparison.Ordinal))
            .Select(e => new Echo(e.Text.ToUpperInvariant())));

        await app.StartAsync();
        var address = app.Urls.First();
        BaseAddress = new Uri(address);
        _selfClient = Client(s => s);
        _app = app;
    }

    private TaskCompletionSource SlowStarted(string key) =>
        _slowStarted.GetOrAdd(key, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    private TaskCompletionSource<TimeSpan> SlowCancelled(string key) =>
        _slowCancelled.GetOrAdd(key, _ => new TaskCompletionSource<TimeSpan>(TaskCreationOptions.RunContinuationsAsynchronously));

    public async Task DisposeAsync()
    {
        _selfClient?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RpcCollection : ICollectionFixture<RpcServerFixture>
{
    public const string Name = "rpc";
}
