using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Benchmarks;

/// <summary>
/// The instrumentation of one event alone, without a broker: the calls the emit path and ack on completion make for
/// one event (publish span, sent and duration metrics, hand-out, process span, process duration, settlement), in a
/// loop on one thread, with nothing listening, with metrics only, with tracing only and with both exported to
/// OpenTelemetry's in-memory exporter (as the events benchmark's <c>--telemetry</c> side). Prints the CPU time per
/// event of each side; the difference to <c>off</c> is what the instrumentation costs.
/// <c>dotnet run -c Release --project bench/Twyla.Streams.Benchmarks -- telemetry-cost [events per round] [rounds]</c>
/// </summary>
internal static class TelemetryCostBenchmark
{
    private static readonly string[] Names = ["booking.confirmed", "booking.cancelled", "seat.reserved", "payment.captured"];

    public static int Run(IReadOnlyList<string> args)
    {
        var count = args.Count > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 200_000;
        var rounds = args.Count > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        var target = new MessagingTarget("rabbitmq", "twyla.events");
        var telemetry = new ListenerTelemetry(target, ListenerTopology.Create("booking.confirmed", "bench", QueueType.Classic), NullLogger.Instance);
        (string Name, bool Metrics, bool Tracing)[] sides = [("off", false, false), ("metrics", true, false), ("tracing", false, true), ("both", true, true)];
        var results = sides.ToDictionary(s => s.Name, _ => new List<double>());

        foreach (var side in sides)
        {
            Side(side.Metrics, side.Tracing, () => Loop(count / 4, target, telemetry)); // warm-up
        }

        for (var round = 1; round <= rounds; round++)
        {
            foreach (var side in sides)
            {
                var cpu = Side(side.Metrics, side.Tracing, () => Loop(count, target, telemetry));
                var perEvent = cpu.TotalMicroseconds / count;
                results[side.Name].Add(perEvent);
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"round {round} {side.Name}: {perEvent:0.00} us/event CPU"));
            }
        }

        var off = Median(results["off"]);
        foreach (var (name, _, _) in sides)
        {
            var median = Median(results[name]);
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"telemetry_cost_{name}_us_per_event {median:0.00} (+{median - off:0.00})"));
        }

        return 0;
    }

    private static TimeSpan Side(bool metrics, bool tracing, Action loop)
    {
        var spans = new Events.TelemetrySide.CountingCollection();
        var points = new List<Metric>();
        using var tracer = tracing ? Sdk.CreateTracerProviderBuilder().AddTwylaInstrumentation().AddInMemoryExporter(spans).Build() : null;
        using var meter = metrics ? Sdk.CreateMeterProviderBuilder().AddTwylaInstrumentation().AddInMemoryExporter(points).Build() : null;
        GC.Collect();
        GC.WaitForPendingFinalizers();
        using var process = Process.GetCurrentProcess();
        var before = process.TotalProcessorTime;
        loop();
        process.Refresh();
        var used = process.TotalProcessorTime - before;
        meter?.ForceFlush();
        if ((tracing && spans.Count == 0) || (metrics && points.Count == 0))
        {
            throw new InvalidOperationException("nothing was exported");
        }

        return used;
    }

    private static void Loop(int count, MessagingTarget target, ListenerTelemetry telemetry)
    {
        var settler = new NoSettler(telemetry);
        for (var i = 0; i < count; i++)
        {
            var name = Names[i % Names.Length];
            var id = "01J" + i.ToString("D23", CultureInfo.InvariantCulture);
            var metadata = new EventMetadata(id, name, id, string.Empty, DateTimeOffset.UtcNow, "bench", 1);

            // The emit: a publish span, the broker's answer, the sent metrics.
            var start = Stopwatch.GetTimestamp();
            var publish = EventTracing.StartPublish(metadata, target, 180);
            var traceParent = publish?.Id;
            EmitTelemetry.Record(target, metadata, start, EmitTelemetry.Confirmed);
            EventTracing.EndPublish(publish, EmitTelemetry.Confirmed, null);

            // The delivery: handed out, handled under ack on completion, acked.
            telemetry.HandedOut(metadata);
            var e = new Event<string>("payload", metadata, false, 1, null, settler, (ulong)i, traceParent, null, CancellationToken.None);
            var activity = EventTracing.StartProcess(e, telemetry);
            var handlerStart = Stopwatch.GetTimestamp();
            using (telemetry.Logger.BeginScope(new EventLogScope(metadata, 1)))
            {
            }

            telemetry.Processed(metadata, handlerStart, null);
            telemetry.Settled(metadata, SettleKind.Ack, null);
            EventTracing.Settled(activity, SettleKind.Ack, string.Empty, null);
            activity?.Dispose();
        }
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private sealed class NoSettler(ListenerTelemetry telemetry) : IEventSettler
    {
        public ListenerTelemetry? Telemetry => telemetry;

        public Task SettleAsync(ulong tag, SettleKind kind, string? reason) => Task.CompletedTask;
    }
}
