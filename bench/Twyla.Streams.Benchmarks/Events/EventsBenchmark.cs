using System.Diagnostics;
using System.Globalization;
using Akka.Streams;

namespace Twyla.Streams.Benchmarks.Events;

/// <summary>
/// End-to-end events throughput of our emit sink → RabbitMQ → listen source with ack on completion, against plain
/// RabbitMQ.Client 7 and MassTransit 8 doing the same work on the same broker in the same run; optionally, memory
/// under sustained load. Progress goes to stderr; stdout gets one line per figure, the ratios against MassTransit and
/// the raw baseline last.
/// </summary>
internal static class EventsBenchmark
{
    private const string RatioFigure = "events_end_to_end_ratio_vs_raw";
    private const string MassTransitRatioFigure = "events_ratio_vs_masstransit";

    public static async Task<int> RunAsync(string[] args)
    {
        EventsOptions options;
        try
        {
            options = EventsOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"events: {e.Message}\n{EventsOptions.Usage}");
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(EventsOptions.Usage);
            return 0;
        }

        var figures = new List<(string Name, string Value)>();
        var exit = await BrokerRun.RunAsync("events", async run =>
        {
            Log($"count {options.Count}, rounds {options.Rounds} per side (+ warm-up {options.Warmup}), parallelism {options.Parallelism}, " +
                $"prefetch {options.Prefetch}, max in flight {options.MaxInFlight}");

            if (options.Throughput)
            {
                await using var mt = options.Only == "masstransit" || (options.MassTransit && options.Only is null)
                    ? await MassTransitSide.StartAsync(run.Uri, "twyla-bench-masstransit", options.Prefetch)
                    : null;
                await ThroughputAsync(run.Bus, run.Materializer, run.Broker, mt, run.Exchange, run.Id, options, figures);
                await MassTransitSide.DeletePublishExchangeAsync<BookingConfirmed>(run.Broker);
            }

            if (options.Memory)
            {
                await MemoryAsync(run.Bus, run.Materializer, run.Broker, run.Id, options, figures);
            }
        });

        // The ratios against MassTransit and the raw baseline are the last lines, also when the memory figures were
        // measured after them.
        foreach (var (name, value) in figures.OrderBy(f => f.Name switch { RatioFigure => 2, MassTransitRatioFigure => 1, _ => 0 }))
        {
            Console.WriteLine($"{name} {value}");
        }

        return exit;
    }

    private static async Task ThroughputAsync(
        EventBus bus, IMaterializer materializer, Broker broker, MassTransitSide? mt, string exchange, string run, EventsOptions options,
        List<(string Name, string Value)> figures)
    {
        var round = 0;
        string NextName() => $"bench-{run}.round-{++round}";

        Task<RoundResult> Ours(int count) => WithCpu(() => OursRound.RunAsync(bus, materializer, broker, NextName(), "ours", count, options));
        Task<RoundResult> OursTelemetry(int count) =>
            WithCpu(() => TelemetrySide.RunAsync(() => OursRound.RunAsync(bus, materializer, broker, NextName(), "ours", count, options)));
        Task<RoundResult> Raw(int count) => WithCpu(() => RawRound.RunAsync(broker, exchange, NextName(), "raw", count, options, RawRound.Variant.Plain));
        Task<RoundResult> MassTransit(int count) => WithCpu(() => MassTransitRound.RunAsync(mt!, broker, $"{NextName()}.masstransit", count, options));
        Task<RoundResult> RawLimiter(int count) => WithCpu(() => RawRound.RunAsync(broker, exchange, NextName(), "raw-limiter", count, options, RawRound.Variant.Limiter));
        Task<RoundResult> RawCloudEvents(int count) => WithCpu(() => RawRound.RunAsync(broker, exchange, NextName(), "raw-ce", count, options, RawRound.Variant.CloudEvents));
        Task<RoundResult> RawVariant(RawRound.Variant variant, int count) =>
            WithCpu(() => RawRound.RunAsync(broker, exchange, NextName(), "raw-part", count, options, variant));
        (RawRound.Variant Variant, string Label)[] wireParts =
        [
            (RawRound.Variant.CloudEventsHeadersOnly, "raw_headers_only"),
            (RawRound.Variant.CloudEventsPropertiesOnly, "raw_properties_only"),
            (RawRound.Variant.Padded, "raw_padded"),
        ];
        var wirePartRates = wireParts.ToDictionary(p => p.Label, _ => new List<double>());
        var stepResults = WireSteps.All.ToDictionary(s => s.Label, _ => new List<RoundResult>());
        var rawResults = new List<RoundResult>();
        var oursResults = new List<RoundResult>();
        Task<RoundResult> RawStep(Func<Twyla.Streams.Transport.EventEnvelope, RabbitMQ.Client.BasicProperties> properties, int count) =>
            WithCpu(() => RawRound.RunAsync(broker, exchange, NextName(), "raw-step", count, options, RawRound.Variant.Custom, properties));

        if (options.Only is { } only)
        {
            // Profiling aid: one side only, no figures.
            for (var i = 1; i <= options.Rounds; i++)
            {
                Report($"round {i} {only}", await (only switch { "ours" => Ours(options.Count), "raw" => Raw(options.Count), _ => MassTransit(options.Count) }));
            }

            return;
        }

        if (options.Warmup > 0)
        {
            Report("warm-up ours", await Ours(options.Warmup));
            Report("warm-up raw", await Raw(options.Warmup));
            if (mt is not null)
            {
                Report("warm-up masstransit", await MassTransit(options.Warmup));
            }

            if (options.Telemetry)
            {
                Report("warm-up ours+telemetry", await OursTelemetry(options.Warmup));
            }
        }

        var ours = new List<double>();
        var raw = new List<double>();
        var masstransit = new List<double>();
        var masstransitResults = new List<RoundResult>();
        (string Name, Func<int, Task<RoundResult>> Run, List<double> Rates, List<RoundResult> Results)[] sides = mt is null
            ? [("ours", Ours, ours, oursResults), ("raw", Raw, raw, rawResults)]
            : [("ours", Ours, ours, oursResults), ("raw", Raw, raw, rawResults), ("masstransit", MassTransit, masstransit, masstransitResults)];
        var rawLimiter = new List<double>();
        var rawCloudEvents = new List<double>();
        var oursTelemetry = new List<double>();
        for (var i = 1; i <= options.Rounds; i++)
        {
            // The main sides in an order that rotates from round to round: each is first, second (and last) as often.
            for (var k = 0; k < sides.Length; k++)
            {
                var (name, side, rates, results) = sides[(i - 1 + k) % sides.Length];
                var result = await side(options.Count);
                results.Add(result);
                rates.Add(Report($"round {i} {name}", result));
            }

            if (options.Telemetry)
            {
                oursTelemetry.Add(Report($"round {i} ours+telemetry", await OursTelemetry(options.Count)));
            }
            if (options.RawLimiter)
            {
                rawLimiter.Add(Report($"round {i} raw-limiter", await RawLimiter(options.Count)));
            }

            if (options.RawCloudEvents)
            {
                rawCloudEvents.Add(Report($"round {i} raw-cloudevents", await RawCloudEvents(options.Count)));
            }

            if (options.RawWireParts)
            {
                foreach (var (variant, label) in wireParts)
                {
                    wirePartRates[label].Add(Report($"round {i} {label.Replace('_', '-')}", await RawVariant(variant, options.Count)));
                }
            }

            if (options.WireSteps)
            {
                foreach (var (label, properties) in WireSteps.All)
                {
                    var result = await RawStep(properties, options.Count);
                    Report($"round {i} raw+{label}", result);
                    stepResults[label].Add(result);
                }
            }
        }

        if (options.Split)
        {
            var oursEmit = new List<double>();
            var oursConsume = new List<double>();
            var rawEmit = new List<double>();
            var rawConsume = new List<double>();
            for (var i = 1; i <= options.Rounds; i++)
            {
                var (e, c) = await OursRound.RunSplitAsync(bus, materializer, broker, NextName(), "ours", options.Count, options);
                oursEmit.Add(Report($"split {i} ours emit only", e));
                oursConsume.Add(Report($"split {i} ours consume only", c));
                (e, c) = await RawRound.RunSplitAsync(broker, exchange, NextName(), "raw", options.Count, options);
                rawEmit.Add(Report($"split {i} raw publish only", e));
                rawConsume.Add(Report($"split {i} raw consume only", c));
            }

            figures.Add(("events_ours_emit_only_per_sec", F0(Median(oursEmit))));
            figures.Add(("events_raw_emit_only_per_sec", F0(Median(rawEmit))));
            figures.Add(("events_emit_only_ratio_vs_raw", F2(Median(oursEmit) / Median(rawEmit))));
            figures.Add(("events_ours_consume_only_per_sec", F0(Median(oursConsume))));
            figures.Add(("events_raw_consume_only_per_sec", F0(Median(rawConsume))));
            figures.Add(("events_consume_only_ratio_vs_raw", F2(Median(oursConsume) / Median(rawConsume))));
        }

        figures.Add(("events_count", options.Count.ToString(CultureInfo.InvariantCulture)));
        figures.Add(("events_rounds_per_side", options.Rounds.ToString(CultureInfo.InvariantCulture)));
        figures.Add(("events_ours_per_sec", F0(Median(ours))));
        figures.Add(("events_ours_min_per_sec", F0(ours.Min())));
        figures.Add(("events_ours_max_per_sec", F0(ours.Max())));
        figures.Add(("events_raw_per_sec", F0(Median(raw))));
        figures.Add(("events_raw_min_per_sec", F0(raw.Min())));
        figures.Add(("events_raw_max_per_sec", F0(raw.Max())));
        if (options.RawLimiter)
        {
            figures.Add(("events_raw_limiter_per_sec", F0(Median(rawLimiter))));
            figures.Add(("events_raw_limiter_ratio_vs_raw", F2(Median(rawLimiter) / Median(raw))));
        }

        if (options.Telemetry)
        {
            figures.Add(("events_ours_telemetry_per_sec", F0(Median(oursTelemetry))));
            figures.Add(("events_telemetry_ratio_vs_ours", F2(Median(oursTelemetry) / Median(ours))));
        }

        if (options.RawCloudEvents)
        {
            figures.Add(("events_raw_cloudevents_per_sec", F0(Median(rawCloudEvents))));
            figures.Add(("events_ours_ratio_vs_raw_cloudevents", F2(Median(ours) / Median(rawCloudEvents))));
        }

        if (options.RawWireParts)
        {
            foreach (var (_, label) in wireParts)
            {
                figures.Add(($"events_{label}_per_sec", F0(Median(wirePartRates[label]))));
                figures.Add(($"events_{label}_ratio_vs_raw", F2(Median(wirePartRates[label]) / Median(raw))));
            }
        }

        // CPU per event, medians of the rounds (broker: 0 unless TWYLA_RABBITMQ_DIR names the node).
        static double Us(List<RoundResult> results, Func<RoundResult, TimeSpan?> cpu) =>
            Median(results.Select(r => (cpu(r) ?? TimeSpan.Zero).TotalMicroseconds / r.Count).ToList());
        figures.Add(("events_ours_client_us", F1(Us(oursResults, r => r.ClientCpu))));
        figures.Add(("events_ours_broker_us", F1(Us(oursResults, r => r.BrokerCpu))));
        figures.Add(("events_raw_client_us", F1(Us(rawResults, r => r.ClientCpu))));
        figures.Add(("events_raw_broker_us", F1(Us(rawResults, r => r.BrokerCpu))));
        if (options.WireSteps)
        {
            // Per step: throughput against plain raw, and the medians of broker and client CPU per event.
            foreach (var (label, _) in WireSteps.All)
            {
                var results = stepResults[label];
                figures.Add(($"events_step_{label}_ratio_vs_raw", F2(Median(results.Select(r => r.PerSecond).ToList()) / Median(raw))));
                figures.Add(($"events_step_{label}_broker_us", F1(Us(results, r => r.BrokerCpu))));
                figures.Add(($"events_step_{label}_client_us", F1(Us(results, r => r.ClientCpu))));
            }
        }

        if (mt is not null)
        {
            figures.Add(("events_masstransit_per_sec", F0(Median(masstransit))));
            figures.Add(("events_masstransit_min_per_sec", F0(masstransit.Min())));
            figures.Add(("events_masstransit_max_per_sec", F0(masstransit.Max())));
            figures.Add(("events_masstransit_client_us", F1(Us(masstransitResults, r => r.ClientCpu))));
            figures.Add(("events_masstransit_broker_us", F1(Us(masstransitResults, r => r.BrokerCpu))));
            figures.Add((MassTransitRatioFigure, F2(Median(ours) / Median(masstransit))));
        }

        figures.Add((RatioFigure, F2(Median(ours) / Median(raw))));
    }

    private static async Task MemoryAsync(
        EventBus bus, IMaterializer materializer, Broker broker, string run, EventsOptions options, List<(string Name, string Value)> figures)
    {
        var readings = new (double WorkingSetMb, double HeapMb)[2];
        OursRound.Checkpoint At(int index, long afterEvents) => new(afterEvents, () =>
        {
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
            GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
            using var process = Process.GetCurrentProcess();
            readings[index] = (process.WorkingSet64 / 1048576.0, GC.GetTotalMemory(forceFullCollection: false) / 1048576.0);
            Log($"after {afterEvents} events: working set {readings[index].WorkingSetMb:F1} MB, managed heap {readings[index].HeapMb:F1} MB");
        });

        // One continuous stream; both readings are taken while it runs (the tail keeps it in the same steady state).
        var total = options.MemoryCount + Math.Max(10_000, options.MemoryCount / 50);
        var result = await OursRound.RunAsync(
            bus, materializer, broker, $"bench-{run}.memory", "ours", total, options,
            [At(0, options.MemoryFirst), At(1, options.MemoryCount)]);
        Report("memory run ours", result);
        var first = Label(options.MemoryFirst);
        var second = Label(options.MemoryCount);
        figures.Add(($"events_ws_{first}_mb", F1(readings[0].WorkingSetMb)));
        figures.Add(($"events_ws_{second}_mb", F1(readings[1].WorkingSetMb)));
        figures.Add(("events_ws_growth_ratio", F3(readings[1].WorkingSetMb / readings[0].WorkingSetMb)));
        figures.Add(($"events_heap_{first}_mb", F1(readings[0].HeapMb)));
        figures.Add(($"events_heap_{second}_mb", F1(readings[1].HeapMb)));
        figures.Add(("events_memory_run_per_sec", F0(result.PerSecond)));
    }

    /// <summary>Adds the CPU time this process spent during the round (client side only; the broker runs apart).</summary>
    private static async Task<RoundResult> WithCpu(Func<Task<RoundResult>> round)
    {
        var before = ResourceUsage.Now();
        var result = await round();
        return result.WithUsageSince(before);
    }

    private static double Report(string what, RoundResult result)
    {
        Log($"{what}: {result.Count} events in {result.Elapsed.TotalSeconds:F2} s = {result.PerSecond:F0}/s" +
            (result.ClientCpu is { } cpu ? $", client CPU {cpu.TotalMicroseconds / result.Count:F1} µs/event" : string.Empty) +
            (result.BrokerCpu is { } bcpu ? $", broker CPU {bcpu.TotalMicroseconds / result.Count:F1} µs/event" : string.Empty) +
            (result.ThreadPoolItems is { } items ? $", {(double)items / result.Count:F2} thread-pool items/event" : string.Empty) +
            (result.LockContentions is { } locks ? $", {locks} lock contentions" : string.Empty) +
            (result.Allocated is { } bytes ? $", {(double)bytes / result.Count:F0} B allocated/event" : string.Empty) +
            (result.LeftInQueue == 0 ? string.Empty : $"; {result.LeftInQueue} MESSAGES LEFT UNACKED"));
        if (result.LeftInQueue != 0)
        {
            throw new InvalidOperationException($"{what} left {result.LeftInQueue} messages in its queue");
        }

        return result.PerSecond;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        var mid = sorted.Count / 2;
        return sorted.Count % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }

    private static string Label(long n) =>
        n % 1_000_000 == 0 ? $"{n / 1_000_000}m" : n % 1000 == 0 ? $"{n / 1000}k" : n.ToString(CultureInfo.InvariantCulture);

    private static string F0(double v) => v.ToString("F0", CultureInfo.InvariantCulture);

    private static string F1(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    private static string F2(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    private static string F3(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    private static void Log(string line) => BrokerRun.Log(line);
}
