using System.Diagnostics;
using System.Globalization;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using Twyla.Streams.Benchmarks.Events;
using Twyla.Streams.Emit;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Benchmarks.Listeners;

/// <summary>
/// A service with many listeners (groups) on one bus against one listener carrying the same total: start-up time to
/// every listener ready, the broker's connections and channels of the service, memory after start-up and after the
/// run, and end-to-end throughput with the events spread evenly over the listeners (each on an event name of its own).
/// Progress goes to stderr; stdout gets one line per figure, the per-listener costs and the throughput ratio last.
/// </summary>
internal static class ListenersBenchmark
{
    private const string DefaultUri = "amqp://guest:guest@127.0.0.1:5672/";

    public static async Task<int> RunAsync(string[] args)
    {
        ListenersOptions options;
        try
        {
            options = ListenersOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"listeners: {e.Message}\n{ListenersOptions.Usage}");
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(ListenersOptions.Usage);
            return 0;
        }

        var uri = Environment.GetEnvironmentVariable("Twyla__Amqp__Uri") is { Length: > 0 } u ? u : DefaultUri;
        await using var broker = await Broker.ConnectAsync(uri);
        if (broker is null)
        {
            return 3;
        }

        var run = Guid.NewGuid().ToString("N")[..8];
        var exchange = $"twyla.bench.{run}";
        await broker.DeclareExchangeAsync(exchange);
        var system = ActorSystem.Create("twyla-bench", "akka.loglevel = WARNING\nakka.stdout-loglevel = WARNING");
        var warnings = new CountingLoggerProvider();
        using var logging = LoggerFactory.Create(b => b.AddProvider(warnings));
        var many = options.Listeners;
        var sides = new Dictionary<int, List<SideResult>> { [1] = [], [many] = [] };
        var hosted = new Dictionary<int, List<HostedResult>> { [1] = [], [many] = [] };
        try
        {
            var materializer = system.Materializer();
            await using var emitter = EventBus.RabbitMq(
                RabbitMqSettings.FromUri(uri).WithExchange(exchange).WithConnectionName("twyla-bench-emitter"),
                EventBusSettings.Create("twyla-bench-emitter").WithLoggerFactory(logging));
            var bench = new Bench(uri, exchange, run, broker, emitter, materializer, logging, warnings, options);
            Log($"broker {broker.Description} (RabbitMQ {broker.ServerVersion}), exchange {exchange}; " +
                $"{Environment.ProcessorCount} cores, .NET {Environment.Version}, server GC {System.Runtime.GCSettings.IsServerGC}");
            Log($"1 listener vs {many} listeners on one bus; {options.Count} events per round spread over them, {options.Rounds} rounds per side " +
                $"(+ warm-up {options.Warmup}); per listener prefetch {options.Prefetch}, parallelism {options.Parallelism}");

            if (options.Warmup > 0)
            {
                await bench.RunSideAsync("warm-up", 1, options.Warmup, readBroker: false);
                await bench.RunSideAsync("warm-up", many, options.Warmup, readBroker: false);
                if (options.HostedRounds > 0)
                {
                    await bench.RunHostedAsync("warm-up", 1);
                }
            }

            for (var i = 1; i <= options.Rounds; i++)
            {
                // Alternating which side goes first, so neither always runs on the broker the other just cleaned up after.
                foreach (var k in i % 2 == 1 ? new[] { 1, many } : new[] { many, 1 })
                {
                    sides[k].Add(await bench.RunSideAsync($"round {i}", k, options.Count, readBroker: true));
                }

                if (i <= options.HostedRounds)
                {
                    foreach (var k in i % 2 == 1 ? new[] { 1, many } : new[] { many, 1 })
                    {
                        hosted[k].Add(await bench.RunHostedAsync($"round {i}", k));
                    }
                }
            }
        }
        finally
        {
            await system.Terminate();
            await DeleteRunAsync(broker, exchange);
        }

        if (warnings.Count > 0)
        {
            Log($"library warnings and errors: {warnings.Summary}");
        }

        foreach (var (name, value) in Figures(sides[1], sides[many], hosted[1], hosted[many], many, options, warnings.Count))
        {
            Console.WriteLine($"{name} {value}");
        }

        return 0;
    }

    /// <summary>The figures, per-listener costs and the throughput ratio last.</summary>
    private static List<(string Name, string Value)> Figures(
        List<SideResult> one, List<SideResult> many, List<HostedResult> hostedOne, List<HostedResult> hostedMany, int n,
        ListenersOptions options, int warnings)
    {
        double Med(List<SideResult> side, Func<SideResult, double> of) => Median([.. side.Select(of)]);
        double PerListener(Func<SideResult, double> of) => (Med(many, of) - Med(one, of)) / (n - 1);
        var figures = new List<(string, string)>
        {
            ("listeners_count", I(n)),
            ("listeners_events_per_round", I(options.Count)),
            ("listeners_rounds_per_side", I(options.Rounds)),
            ("listeners_prefetch", I(options.Prefetch)),
            ("listeners_parallelism", I(options.Parallelism)),
        };
        foreach (var (k, side) in new[] { (1, one), (n, many) })
        {
            figures.Add(($"listeners_startup_ms_{k}", F1(Med(side, s => s.StartUp.TotalMilliseconds))));
            figures.Add(($"listeners_per_sec_{k}", F0(Med(side, s => s.Round.PerSecond))));
            figures.Add(($"listeners_min_per_sec_{k}", F0(side.Min(s => s.Round.PerSecond))));
            figures.Add(($"listeners_max_per_sec_{k}", F0(side.Max(s => s.Round.PerSecond))));
            if (side.All(s => s.Broker is not null))
            {
                figures.Add(($"listeners_connections_{k}", F0(Med(side, s => s.Broker!.Count))));
                figures.Add(($"listeners_channels_{k}", F0(Med(side, s => s.Broker!.Channels))));
            }

            figures.Add(($"listeners_threads_{k}", F0(Med(side, s => s.AfterStart.Threads))));
            figures.Add(($"listeners_heap_mb_after_startup_{k}", F1(Med(side, s => s.AfterStart.HeapMb))));
            figures.Add(($"listeners_heap_mb_after_run_{k}", F1(Med(side, s => s.AfterRun.HeapMb))));
            figures.Add(($"listeners_ws_mb_after_startup_{k}", F1(Med(side, s => s.AfterStart.WorkingSetMb))));
            figures.Add(($"listeners_ws_mb_after_run_{k}", F1(Med(side, s => s.AfterRun.WorkingSetMb))));
        }

        if (hostedOne.Count > 0)
        {
            foreach (var (k, side) in new[] { (1, hostedOne), (n, hostedMany) })
            {
                figures.Add(($"listeners_hosted_host_start_ms_{k}", F1(Median([.. side.Select(h => h.HostStarted.TotalMilliseconds)]))));
                figures.Add(($"listeners_hosted_startup_ms_{k}", F1(Median([.. side.Select(h => h.AllConsuming.TotalMilliseconds)]))));
                figures.Add(($"listeners_hosted_stop_ms_{k}", F1(Median([.. side.Select(h => h.Stopped.TotalMilliseconds)]))));
            }
        }

        if (one.Concat(many).FirstOrDefault(s => s.Broker is not null)?.Broker is { } b)
        {
            figures.Add(("listeners_broker_channel_max", I(b.ChannelMax)));
        }

        figures.Add(("listeners_library_warnings", I(warnings)));
        figures.Add(("listeners_startup_ms_per_listener", F2(PerListener(s => s.StartUp.TotalMilliseconds))));
        if (hostedOne.Count > 0)
        {
            double HostedMedian(List<HostedResult> side) => Median([.. side.Select(h => h.AllConsuming.TotalMilliseconds)]);
            figures.Add(("listeners_hosted_startup_ms_per_listener", F2((HostedMedian(hostedMany) - HostedMedian(hostedOne)) / (n - 1))));
        }

        if (one.Concat(many).All(s => s.Broker is not null))
        {
            figures.Add(("listeners_channels_per_listener", F2(PerListener(s => s.Broker!.Channels))));
        }

        figures.Add(("listeners_threads_per_listener", F2(PerListener(s => s.AfterStart.Threads))));
        figures.Add(("listeners_memory_mb_per_listener", F3(PerListener(s => s.AfterStart.HeapMb - s.Before.HeapMb))));
        figures.Add(("listeners_memory_mb_per_listener_after_run", F3(PerListener(s => s.AfterRun.HeapMb - s.Before.HeapMb))));
        figures.Add(("listeners_ws_mb_per_listener", F3(PerListener(s => s.AfterStart.WorkingSetMb - s.Before.WorkingSetMb))));
        figures.Add(($"listeners_startup_ratio_{n}_vs_1", F2(Med(many, s => s.StartUp.TotalMilliseconds) / Med(one, s => s.StartUp.TotalMilliseconds))));
        figures.Add(($"listeners_throughput_ratio_{n}_vs_1", F2(Med(many, s => s.Round.PerSecond) / Med(one, s => s.Round.PerSecond))));
        return figures;
    }

    /// <summary>What one side measured in one round.</summary>
    private sealed record SideResult(TimeSpan StartUp, RoundResult Round, MemoryReading Before, MemoryReading AfterStart, MemoryReading AfterRun, BrokerConnections? Broker);

    /// <summary>A hosted service's start-up: until <c>IHost.StartAsync</c> returned, and until every listener's queue had a consumer.</summary>
    private sealed record HostedResult(TimeSpan HostStarted, TimeSpan AllConsuming, TimeSpan Stopped);

    /// <summary>The process's memory after a full, blocking, compacting collection, and its threads.</summary>
    private readonly record struct MemoryReading(double WorkingSetMb, double HeapMb, int Threads)
    {
        public static MemoryReading Now()
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            using var process = Process.GetCurrentProcess();
            return new MemoryReading(process.WorkingSet64 / 1048576.0, GC.GetTotalMemory(forceFullCollection: false) / 1048576.0, process.Threads.Count);
        }

        public override string ToString() => $"heap {HeapMb:F1} MB, working set {WorkingSetMb:F1} MB, {Threads} threads";
    }

    private sealed class Bench(
        string uri, string exchange, string run, Broker broker, EventBus emitter, IMaterializer materializer, ILoggerFactory logging,
        ILoggerProvider hostLogging, ListenersOptions options)
    {
        private int _fleets;

        /// <summary>
        /// Starts <paramref name="k"/> listeners on a new bus, emits <paramref name="count"/> events round-robin over their
        /// event names from the emitter's bus, waits until all are acked, reads memory and the broker, drains, cleans up.
        /// The event names are the same in every round of a side (the emitter notes each name it emits once).
        /// </summary>
        public async Task<SideResult> RunSideAsync(string label, int k, int count, bool readBroker)
        {
            var names = Enumerable.Range(0, k).Select(i => string.Create(CultureInfo.InvariantCulture, $"bench-{run}.n{k}.e{i:D3}")).ToArray();
            var connectionName = $"twyla-bench-listeners-{++_fleets}";
            var before = MemoryReading.Now();
            SideResult result;
            var fleet = await ListenerFleet.StartAsync(uri, exchange, connectionName, logging, materializer, names, count, options);
            try
            {
                var afterStart = MemoryReading.Now();
                var usage = ResourceUsage.Now();
                long start = 0;
                var emitted = Source.From(Enumerable.Range(0, count))
                    .Select(i =>
                    {
                        if (i == 0)
                        {
                            Volatile.Write(ref start, Stopwatch.GetTimestamp());
                        }

                        return OutgoingEvent.Create(names[i % k], BookingConfirmed.Sample(i));
                    })
                    .RunWith(emitter.EmitEvents<BookingConfirmed>(), materializer);
                _ = emitted.ContinueWith(t => fleet.Fail(t.Exception!), TaskContinuationOptions.OnlyOnFaulted);
                var end = await fleet.AllHandled.WaitAsync(RoundResult.Timeout(count));
                await emitted;
                var round = new RoundResult(count, Stopwatch.GetElapsedTime(Volatile.Read(ref start), end), 0).WithUsageSince(usage);
                BrokerConnections? connections = null;
                if (readBroker)
                {
                    var (read, why) = await BrokerConnections.ReadAsync(connectionName + " (");
                    connections = read;
                    Log(read is null ? $"channels and connections not read: {why}" : $"{label} {k}: broker lists {read}; channel_max {read.ChannelMax}");
                }

                var afterRun = MemoryReading.Now();
                result = new SideResult(fleet.StartUp, round, before, afterStart, afterRun, connections);
            }
            finally
            {
                await fleet.DisposeAsync();
            }

            var left = await CleanUpAsync(names);
            result = result with { Round = result.Round with { LeftInQueue = left } };
            Report($"{label} {k} listener{(k == 1 ? "" : "s")}", result);
            return result;
        }

        /// <summary>Starts a hosted service with <paramref name="k"/> listeners, measures its start-up, stops it, cleans up.</summary>
        public async Task<HostedResult> RunHostedAsync(string label, int k)
        {
            var names = Enumerable.Range(0, k).Select(i => string.Create(CultureInfo.InvariantCulture, $"bench-{run}.h{k}.e{i:D3}")).ToArray();
            var (hostStarted, allConsuming, stopped) = await HostedStartUp.MeasureAsync(uri, exchange, broker, names, hostLogging, options);
            await CleanUpAsync(names);
            Log($"{label} hosted {k} listener{(k == 1 ? "" : "s")}: IHost.StartAsync {hostStarted.TotalMilliseconds:F0} ms, " +
                $"every queue with a consumer after {allConsuming.TotalMilliseconds:F0} ms; IHost.StopAsync {stopped.TotalMilliseconds:F0} ms");
            return new HostedResult(hostStarted, allConsuming, stopped);
        }

        /// <summary>
        /// Deletes every group's queues and router, eight groups at a time; returns the messages that were still in the
        /// listener queues.
        /// </summary>
        private async Task<uint> CleanUpAsync(IReadOnlyList<string> names)
        {
            var left = await Task.WhenAll(names.Chunk(Math.Max(1, (names.Count + 7) / 8)).Select(DeleteAsync));
            return (uint)left.Sum(l => l);
        }

        private async Task<long> DeleteAsync(IEnumerable<string> names)
        {
            long left = 0;
            await using var channel = await broker.Connection.CreateChannelAsync();
            foreach (var topology in names.Select(ListenerFleet.Topology))
            {
                left += await channel.QueueDeleteAsync(topology.QueueName, ifUnused: false, ifEmpty: false);
                await channel.QueueDeleteAsync(topology.DeadLetterQueueName, ifUnused: false, ifEmpty: false);
                foreach (var delay in topology.Retry.DistinctDelays)
                {
                    await channel.QueueDeleteAsync(topology.RetryQueueName(delay), ifUnused: false, ifEmpty: false);
                }

                await channel.ExchangeDeleteAsync(topology.RouterExchangeName, ifUnused: false);
            }

            await channel.CloseAsync();
            return left;
        }
    }

    /// <summary>Deletes the run's exchange and the contract log the buses wrote to (a stream and its exchange).</summary>
    private static async Task DeleteRunAsync(Broker broker, string exchange)
    {
        await broker.DeleteExchangeAsync(exchange);
        await using var channel = await broker.Connection.CreateChannelAsync();
        await channel.QueueDeleteAsync(exchange + RabbitMqContractLog.Suffix, ifUnused: false, ifEmpty: false);
        await channel.ExchangeDeleteAsync(exchange + RabbitMqContractLog.Suffix, ifUnused: false);
        await channel.CloseAsync();
    }

    private static void Report(string what, SideResult s)
    {
        var r = s.Round;
        Log($"{what}: start-up {s.StartUp.TotalMilliseconds:F0} ms; {r.Count} events in {r.Elapsed.TotalSeconds:F2} s = {r.PerSecond:F0}/s" +
            (r.ClientCpu is { } cpu ? $", client CPU {cpu.TotalMicroseconds / r.Count:F1} µs/event" : string.Empty) +
            (r.BrokerCpu is { } bcpu ? $", broker CPU {bcpu.TotalMicroseconds / r.Count:F1} µs/event" : string.Empty) +
            $"; before: {s.Before}; after start-up: {s.AfterStart}; after the run: {s.AfterRun}" +
            (r.LeftInQueue == 0 ? string.Empty : $"; {r.LeftInQueue} MESSAGES LEFT UNACKED"));
        if (r.LeftInQueue != 0)
        {
            throw new InvalidOperationException($"{what} left {r.LeftInQueue} messages in its queues");
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    private static string F0(double v) => v.ToString("F0", CultureInfo.InvariantCulture);

    private static string F1(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    private static string F2(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    private static string F3(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    private static void Log(string line) => Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] {line}");
}
