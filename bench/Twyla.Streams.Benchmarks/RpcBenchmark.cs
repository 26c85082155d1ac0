using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Runtime.InteropServices;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Benchmarks;

/// <summary>
/// RPC throughput and latency: calls through <see cref="RpcClient"/>'s flow against a procedure served with
/// <c>MapRpc</c>, versus a raw baseline (plain <see cref="HttpClient"/> tasks posting JSON to a minimal-API endpoint
/// doing the same work), on one Kestrel server on loopback, in the same run, with the same number of calls in flight.
/// Rounds alternate (T R R T T R ...) to cancel drift. A third side is MassTransit 8's request client over RabbitMQ
/// (a published request handled by a consumer that responds; see <see cref="MassTransitRpc"/>), one round of it after
/// each pair; it needs a broker (<c>Twyla__Amqp__Uri</c>) unless <c>--no-masstransit</c>. Options: <c>--calls N</c> (per
/// round), <c>--rounds N</c> (per side), <c>--in-flight N</c>, <c>--warmup-calls N</c>, <c>--masstransit-calls N</c>
/// (per round; it is an order of magnitude slower), <c>--no-masstransit</c>.
/// </summary>
internal static class RpcBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var calls = Option(args, "--calls", 30_000);
        var rounds = Option(args, "--rounds", 5);
        var inFlight = Option(args, "--in-flight", 64);
        var warmup = Option(args, "--warmup-calls", 20_000);
        var mtCalls = Option(args, "--masstransit-calls", 10_000);
        var profileSide = Array.IndexOf(args, "--profile") is var at and >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        var diagnose = args.Contains("--diagnose");
        await using var mt = profileSide is null && !diagnose && !args.Contains("--no-masstransit")
            ? await MassTransitRpc.StartAsync(inFlight)
            : null;
        if (mt is null && profileSide is null && !diagnose && !args.Contains("--no-masstransit"))
        {
            return 3; // no broker: MassTransitRpc said which and how to start one, or to pass --no-masstransit
        }

        await using var server = await StartServerAsync();
        using var system = ActorSystem.Create("rpc-bench", "akka.loglevel = WARNING");
        var materializer = system.Materializer();
        using var client = new RpcClient(RpcClientSettings.Create().WithService("bench", server.BaseAddress));
        var flow = client.Flow<Work, WorkResult>("bench.work", RpcCallSettings.Create().WithParallelism(inFlight));
        using var raw = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(2), UseCookies = false })
        {
            BaseAddress = server.BaseAddress,
        };
        var requests = Enumerable.Range(0, Math.Max(Math.Max(calls, warmup), mtCalls)).Select(Work.For).ToArray();

        Console.WriteLine($"rpc_machine {Environment.ProcessorCount} cores, {RuntimeInformation.OSDescription.Trim()}, {RuntimeInformation.FrameworkDescription}, {RuntimeInformation.ProcessArchitecture}");
        Console.WriteLine($"rpc_settings calls_per_round={calls} rounds_per_side={rounds} in_flight={inFlight} warmup_calls=3x{warmup} (client and server in one process, HTTP/1.1 on loopback)");
        if (mt is not null)
        {
            Console.WriteLine($"rpc_masstransit_settings calls_per_round={mtCalls} rounds={rounds} in_flight={inFlight} warmup_calls={mtCalls / 2} (request client and consumer in one process, broker {mt.BrokerDescription})");
        }

        if (profileSide is not null)
        {
            // one side only, for a profiler: dotnet-trace collect -- <this> rpc --profile twyla|raw
            for (var round = 0; round < rounds; round++)
            {
                var result = profileSide == "raw"
                    ? await RunRawAsync(raw, requests, calls, inFlight)
                    : await RunTwylaAsync(flow, materializer, requests, calls);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_profile_{profileSide} {result.Calls / result.Elapsed.TotalSeconds:F0} calls/s"));
            }

            return 0;
        }

        if (diagnose)
        {
            using var noBreaker = new RpcClient(RpcClientSettings.Create().WithService("bench", server.BaseAddress).WithoutCircuitBreaker());
            var noBreakerFlow = noBreaker.Flow<Work, WorkResult>("bench.work", RpcCallSettings.Create().WithParallelism(inFlight));
            Flow<Work, RpcResult<WorkResult>, Akka.NotUsed> PostFlow(string path) =>
                Flow.Create<Work>().SelectAsync(inFlight, async w =>
                {
                    using var response = await raw.PostAsJsonAsync(path, w, EventBusSettings.DefaultJsonOptions);
                    var r = await response.Content.ReadFromJsonAsync<WorkResult>(EventBusSettings.DefaultJsonOptions);
                    return (RpcResult<WorkResult>)new RpcResult<WorkResult>.Success(r!);
                });
            var rawFlow = PostFlow("/raw/work");
            var rpcViaRawPath = PostFlow("/rpc/work");
            var variants = new (string Name, Func<Task<Round>> Run)[]
            {
                ("raw_loop", () => RunRawAsync(raw, requests, calls, inFlight)),
                ("raw_selectasync", () => RunTwylaAsync(rawFlow, materializer, requests, calls)),
                ("rawclient_to_maprpc_selectasync", () => RunTwylaAsync(rpcViaRawPath, materializer, requests, calls)),
                ("twyla_flow", () => RunTwylaAsync(flow, materializer, requests, calls)),
                ("twyla_flow_no_breaker", () => RunTwylaAsync(noBreakerFlow, materializer, requests, calls)),
            };
            var diag = variants.ToDictionary(v => v.Name, _ => new Measurements());
            for (var round = 0; round < rounds + 1; round++)
            {
                foreach (var (name, run) in round % 2 == 0 ? variants : variants.Reverse())
                {
                    var result = await run();
                    if (round > 0)
                    {
                        diag[name].Add(result);
                    }
                }
            }

            foreach (var (name, m) in diag)
            {
                m.Print(name);
            }

            return 0;
        }

        // Warm-up: both sides, three times, so tiered JIT (with dynamic PGO) and the connection pools have settled.
        for (var w = 0; w < 3; w++)
        {
            await RunTwylaAsync(flow, materializer, requests, warmup);
            await RunRawAsync(raw, requests, warmup, inFlight);
        }

        if (mt is not null)
        {
            await RunWorkersAsync(mt.CallAsync, requests, mtCalls / 2, inFlight);
        }

        var twyla = new Measurements();
        var baseline = new Measurements();
        var masstransit = new Measurements();
        for (var round = 0; round < rounds * 2; round++)
        {
            if ((round + 1) / 2 % 2 == 0) // T R R T T R R T ...: each side runs first as often as second
            {
                twyla.Add(await RunTwylaAsync(flow, materializer, requests, calls));
            }
            else
            {
                baseline.Add(await RunRawAsync(raw, requests, calls, inFlight));
            }

            if (mt is not null && round % 2 == 1) // after each pair
            {
                masstransit.Add(await RunWorkersAsync(mt.CallAsync, requests, mtCalls, inFlight));
            }
        }

        twyla.Print("twyla");
        baseline.Print("raw");
        if (mt is not null)
        {
            masstransit.Print("masstransit");
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_p50_ratio_vs_raw {twyla.Percentile(0.50) / baseline.Percentile(0.50):F3}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_p99_ratio_vs_raw {twyla.Percentile(0.99) / baseline.Percentile(0.99):F3}"));
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_cpu_per_call_ratio_vs_raw {twyla.CpuPerCall / baseline.CpuPerCall:F3}"));
        if (mt is not null)
        {
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_ratio_vs_masstransit {twyla.Throughput / masstransit.Throughput:F3}"));
        }

        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_throughput_ratio_vs_raw {twyla.Throughput / baseline.Throughput:F3}"));
        return 0;
    }

    private static async Task<Round> RunTwylaAsync(Flow<Work, RpcResult<WorkResult>, Akka.NotUsed> flow, IMaterializer materializer, Work[] requests, int calls)
    {
        var starts = new long[calls];
        var latencies = new double[calls];
        var received = 0;
        var cpu = Environment.CpuUsage.TotalTime;
        var allocated = GC.GetTotalAllocatedBytes();
        var failures = 0;
        var started = Stopwatch.GetTimestamp();
        await Source.From(Enumerable.Range(0, calls))
            .Select(i =>
            {
                starts[i] = Stopwatch.GetTimestamp();
                return requests[i];
            })
            .Via(flow)
            .RunForeach(
                result =>
                {
                    latencies[received] = Stopwatch.GetElapsedTime(starts[received]).TotalMilliseconds;
                    if (result is not RpcResult<WorkResult>.Success { Value.Id: var id } || id != received)
                    {
                        failures++;
                    }

                    received++;
                },
                materializer);
        return new Round(calls, Stopwatch.GetElapsedTime(started), latencies, failures) { Cpu = Environment.CpuUsage.TotalTime - cpu, Allocated = GC.GetTotalAllocatedBytes() - allocated };
    }

    private static Task<Round> RunRawAsync(HttpClient http, Work[] requests, int calls, int inFlight) =>
        RunWorkersAsync(
            async work =>
            {
                using var response = await http.PostAsJsonAsync("/raw/work", work, EventBusSettings.DefaultJsonOptions);
                return response.IsSuccessStatusCode
                    ? await response.Content.ReadFromJsonAsync<WorkResult>(EventBusSettings.DefaultJsonOptions)
                    : null;
            },
            requests,
            calls,
            inFlight);

    /// <summary><paramref name="inFlight"/> tasks, each making one call after the other until <paramref name="calls"/> were made.</summary>
    private static async Task<Round> RunWorkersAsync(Func<Work, Task<WorkResult?>> call, Work[] requests, int calls, int inFlight)
    {
        var latencies = new double[calls];
        var next = -1;
        var cpu = Environment.CpuUsage.TotalTime;
        var allocated = GC.GetTotalAllocatedBytes();
        var failures = 0;
        var started = Stopwatch.GetTimestamp();
        var workers = Enumerable.Range(0, inFlight).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < calls)
            {
                var start = Stopwatch.GetTimestamp();
                var result = await call(requests[i]);
                latencies[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
                if (result?.Id != i)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        });
        await Task.WhenAll(workers);
        return new Round(calls, Stopwatch.GetElapsedTime(started), latencies, failures) { Cpu = Environment.CpuUsage.TotalTime - cpu, Allocated = GC.GetTotalAllocatedBytes() - allocated };
    }

    private static async Task<BenchServer> StartServerAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.RespectNullableAnnotations = true;
            o.SerializerOptions.RespectRequiredConstructorParameters = true;
        });
        var app = builder.Build();
        app.MapRpc<Work, WorkResult>("work", (work, _) => Task.FromResult(work.Process()));
        app.MapPost("/raw/work", (Work work) => work.Process());
        await app.StartAsync();
        var address = app.Urls.First();
        return new BenchServer(app, new Uri(address));
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length ? int.Parse(args[at + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private sealed record Round(int Calls, TimeSpan Elapsed, double[] Latencies, int Failures)
    {
        /// <summary>CPU time of the whole process (client and server) during the round.</summary>
        public TimeSpan Cpu { get; init; }

        /// <summary>Bytes allocated by the whole process (client and server) during the round.</summary>
        public long Allocated { get; init; }
    }

    private sealed class Measurements
    {
        private readonly List<Round> _rounds = [];
        private double[]? _sorted;

        public double Throughput => _rounds.Sum(r => r.Calls) / _rounds.Sum(r => r.Elapsed.TotalSeconds);

        /// <summary>Process CPU time (client and server) per call: less sensitive than throughput to other load on the machine.</summary>
        public double CpuPerCall => _rounds.Sum(r => r.Cpu.TotalMicroseconds) / _rounds.Sum(r => r.Calls);

        public void Add(Round round)
        {
            _rounds.Add(round);
            _sorted = null;
        }

        public double Percentile(double p)
        {
            _sorted ??= _rounds.SelectMany(r => r.Latencies).Order().ToArray();
            return _sorted[Math.Min(_sorted.Length - 1, (int)Math.Ceiling(p * _sorted.Length) - 1)];
        }

        public void Print(string side)
        {
            var perRound = string.Join(" ", _rounds.Select(r => (r.Calls / r.Elapsed.TotalSeconds).ToString("F0", CultureInfo.InvariantCulture)));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_{side}_calls_per_s {Throughput:F0} (rounds: {perRound})"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_{side}_p50_ms {Percentile(0.50):F3}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_{side}_p99_ms {Percentile(0.99):F3}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_{side}_cpu_us_per_call {CpuPerCall:F1}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_{side}_alloc_bytes_per_call {(double)_rounds.Sum(r => r.Allocated) / _rounds.Sum(r => r.Calls):F0}"));
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"rpc_{side}_failures {_rounds.Sum(r => r.Failures)}"));
        }
    }

    private sealed class BenchServer(WebApplication app, Uri baseAddress) : IAsyncDisposable
    {
        public Uri BaseAddress { get; } = baseAddress;

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
