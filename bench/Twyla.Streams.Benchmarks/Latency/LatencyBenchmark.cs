using System.Diagnostics;
using System.Globalization;
using System.Threading.Channels;
using Twyla.Streams.Benchmarks.Events;

namespace Twyla.Streams.Benchmarks.Latency;

/// <summary>
/// Latency under load: events emitted at fixed rates (open loop, see <see cref="OpenLoopSchedule"/>) by ours, the raw
/// client and MassTransit 8 on the same broker in the same run, and the time from each event's event time (when the
/// schedule said it should be sent) to the start of its handler: p50, p99, p99.9 and the maximum per side and rate.
/// Progress goes to stderr; stdout gets one line per figure, the p99s and their ratios last.
/// </summary>
internal static class LatencyBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        LatencyOptions options;
        try
        {
            options = LatencyOptions.Parse(args);
        }
        catch (ArgumentException e)
        {
            await Console.Error.WriteLineAsync($"latency: {e.Message}\n{LatencyOptions.Usage}");
            return 2;
        }

        if (options.Help)
        {
            Console.WriteLine(LatencyOptions.Usage);
            return 0;
        }

        var figures = new List<(string Name, string Value)>();
        var exit = await BrokerRun.RunAsync("latency", async run =>
        {
            await using var mt = options.MassTransit ? await MassTransitSide.StartAsync(run.Uri, "twyla-bench-masstransit", options.Prefetch) : null;
            List<LatencySide> sides =
                [new OursLatencySide(run.Bus, run.Materializer, run.Broker, options), new RawLatencySide(run.Broker, run.Exchange, options)];
            if (mt is not null)
            {
                sides.Add(new MassTransitLatencySide(mt, run.Broker, options));
            }

            Log($"rates {string.Join(", ", options.Rates)}/s, {options.Duration} s per rate and side in {options.Rounds} rounds (+ {options.Warmup} s warm-up per side), " +
                $"parallelism {options.Parallelism}, prefetch {options.Prefetch}, max in flight {options.MaxInFlight}");

            var round = 0;
            string NextName() => $"latency-{run.Id}.round-{++round}";
            var top = options.Rates.Max();
            foreach (var side in options.Warmup > 0 ? sides : [])
            {
                Report($"warm-up {side.Name}", await RunRoundAsync(side, run.Broker, NextName(), top, top * options.Warmup));
            }

            var results = new Dictionary<(string Side, int Rate), List<LatencyRound>>();
            foreach (var rate in options.Rates)
            {
                for (var r = 0; r < options.Rounds; r++)
                {
                    // The order of the sides rotates from round to round.
                    for (var k = 0; k < sides.Count; k++)
                    {
                        var side = sides[(r + k) % sides.Count];
                        var result = await RunRoundAsync(side, run.Broker, NextName(), rate, options.RoundCount(rate));
                        Report($"{rate}/s round {r + 1} {side.Name}", result);
                        results.TryAdd((side.Name, rate), []);
                        results[(side.Name, rate)].Add(result);
                    }
                }
            }

            await MassTransitSide.DeletePublishExchangeAsync<BookingConfirmed>(run.Broker);
            AddFigures(sides.Select(s => s.Name).ToList(), options.Rates, results, figures);
        });

        foreach (var (name, value) in figures)
        {
            Console.WriteLine($"{name} {value}");
        }

        return exit;
    }

    /// <summary>One side's round: <paramref name="count"/> events on the schedule of <paramref name="rate"/>, all handled, the queue left empty.</summary>
    private static async Task<LatencyRound> RunRoundAsync(LatencySide side, Broker broker, string round, int rate, int count)
    {
        var schedule = new OpenLoopSchedule(rate, count);
        var recorder = new LatencyRecorder(schedule);
        var stop = await side.StartConsumerAsync(round, recorder);
        var usage = ResourceUsage.Now();
        var channel = Channel.CreateUnbounded<int>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        var published = side.PublishAsync(round, channel.Reader, recorder.Fail);
        _ = published.ContinueWith(t => recorder.Fail(t.Exception!), TaskContinuationOptions.OnlyOnFaulted);
        await schedule.RunAsync(channel.Writer);
        var end = await recorder.AllHandled.WaitAsync(TimeSpan.FromSeconds(60 + (count / rate)));
        await published;
        var result = new RoundResult(count, Stopwatch.GetElapsedTime(schedule.DueAt(0), end), 0).WithUsageSince(usage);
        await stop();
        var left = await broker.MessageCountAsync(side.QueueOf(round));
        await side.DeleteAsync(round);
        if (left != 0)
        {
            throw new InvalidOperationException($"{side.Name} left {left} messages in its queue");
        }

        return new LatencyRound(rate, result, recorder.Latencies, schedule.HandedOverLate);
    }

    private static void AddFigures(
        IReadOnlyList<string> sides, IReadOnlyList<int> rates, Dictionary<(string Side, int Rate), List<LatencyRound>> results,
        List<(string Name, string Value)> figures)
    {
        var p99 = new Dictionary<(string Side, int Rate), double>();
        foreach (var rate in rates)
        {
            foreach (var side in sides)
            {
                var rounds = results[(side, rate)];
                var all = Distribution.Of(rounds.SelectMany(r => r.Latencies));
                var lag = Distribution.Of(rounds.SelectMany(r => r.HandedOverLate));
                var prefix = $"latency_{side}_{rate}";
                p99[(side, rate)] = all.Percentile(0.99);
                figures.Add(($"{prefix}_events", all.Count.ToString(CultureInfo.InvariantCulture)));
                figures.Add(($"{prefix}_p50_ms", F3(all.Percentile(0.50))));
                figures.Add(($"{prefix}_p999_ms", F3(all.Percentile(0.999))));
                figures.Add(($"{prefix}_max_ms", F3(all.Max)));
                figures.Add(($"{prefix}_p99_min_round_ms", F3(rounds.Min(r => Distribution.Of(r.Latencies).Percentile(0.99)))));
                figures.Add(($"{prefix}_p99_max_round_ms", F3(rounds.Max(r => Distribution.Of(r.Latencies).Percentile(0.99)))));
                figures.Add(($"{prefix}_schedule_lag_p99_ms", F3(lag.Percentile(0.99))));
                figures.Add(($"{prefix}_client_cpu_us_per_event", F1(rounds.Sum(r => r.Result.ClientCpu!.Value.TotalMicroseconds) / all.Count)));
                if (rounds.All(r => r.Result.BrokerCpu is not null))
                {
                    figures.Add(($"{prefix}_broker_cpu_us_per_event", F1(rounds.Sum(r => r.Result.BrokerCpu!.Value.TotalMicroseconds) / all.Count)));
                }
            }
        }

        // Last: the p99s, then their ratios (the other side's p99 / ours: 1 or more means ours is no worse).
        foreach (var rate in rates)
        {
            foreach (var side in sides)
            {
                figures.Add(($"latency_p99_ms_{side}_{rate}", F3(p99[(side, rate)])));
            }
        }

        foreach (var other in sides.Where(s => s != "ours"))
        {
            foreach (var rate in rates)
            {
                figures.Add(($"latency_p99_ratio_vs_{other}_{rate}", F2(p99[(other, rate)] / p99[("ours", rate)])));
            }
        }
    }

    private static void Report(string what, LatencyRound round)
    {
        var d = Distribution.Of(round.Latencies);
        var result = round.Result;
        Log($"{what}: {result.Count} events at {round.Rate}/s, handled at {result.PerSecond:F0}/s; " +
            $"latency p50 {d.Percentile(0.50):F3} p99 {d.Percentile(0.99):F3} p99.9 {d.Percentile(0.999):F3} max {d.Max:F3} ms; " +
            $"schedule lag p99 {Distribution.Of(round.HandedOverLate).Percentile(0.99):F3} ms" +
            (result.ClientCpu is { } cpu ? $", client CPU {cpu.TotalMicroseconds / result.Count:F1} µs/event" : string.Empty) +
            (result.BrokerCpu is { } bcpu ? $", broker CPU {bcpu.TotalMicroseconds / result.Count:F1} µs/event" : string.Empty));
    }

    private static string F1(double v) => v.ToString("F1", CultureInfo.InvariantCulture);

    private static string F2(double v) => v.ToString("F2", CultureInfo.InvariantCulture);

    private static string F3(double v) => v.ToString("F3", CultureInfo.InvariantCulture);

    private static void Log(string line) => BrokerRun.Log(line);

    /// <summary>One side's round at one rate: its throughput and resources, each event's latency and schedule lag (ticks).</summary>
    private sealed record LatencyRound(int Rate, RoundResult Result, IReadOnlyList<long> Latencies, IReadOnlyList<long> HandedOverLate);

    /// <summary>Latencies in milliseconds, sorted: exact percentiles.</summary>
    private sealed class Distribution
    {
        private readonly double[] _sorted;

        private Distribution(double[] sorted) => _sorted = sorted;

        public int Count => _sorted.Length;

        public double Max => _sorted[^1];

        public static Distribution Of(IEnumerable<long> ticks)
        {
            var ms = ticks.Select(t => t * 1000.0 / Stopwatch.Frequency).ToArray();
            Array.Sort(ms);
            return new Distribution(ms);
        }

        /// <summary>The smallest value that <paramref name="p"/> of the values do not exceed.</summary>
        public double Percentile(double p) => _sorted[Math.Clamp((int)Math.Ceiling(p * _sorted.Length) - 1, 0, _sorted.Length - 1)];
    }
}
