/// `--telemetry`: Twyla's traces and metrics exported to the console with AddTwylaInstrumentation, and a summary of
/// the run read from the metrics themselves (kept in memory as well): events sent, consumed and dead-lettered, and
/// the handler duration's p50 and p99.
module Telemetry

open System.Collections.Generic
open Microsoft.Extensions.DependencyInjection
open OpenTelemetry
open OpenTelemetry.Metrics
open OpenTelemetry.Trace
open Twyla.Streams.Diagnostics
open Twyla.Streams.Hosting

let private hasTag (point: MetricPoint) key (value: string) =
    let mutable found = false
    for tag in point.Tags do
        if tag.Key = key && tag.Value = box value then found <- true
    found

/// The q quantile of a histogram, interpolated linearly inside the bucket that holds it (as Prometheus does).
let private quantile (points: MetricPoint list) q =
    let buckets = SortedDictionary<float, int64>()
    for point in points do
        for bucket in point.GetHistogramBuckets() do
            let seen = match buckets.TryGetValue bucket.ExplicitBound with | true, n -> n | _ -> 0L
            buckets[bucket.ExplicitBound] <- seen + bucket.BucketCount
    let total = buckets.Values |> Seq.sum
    let rank = q * float total
    let mutable lower, seen, result = 0.0, 0.0, None
    for KeyValue(upper, count) in buckets do
        if result.IsNone && count > 0L && seen + float count >= rank then
            result <- Some(if System.Double.IsPositiveInfinity upper then lower else lower + (upper - lower) * (rank - seen) / float count)
        seen <- seen + float count
        if not (System.Double.IsPositiveInfinity upper) then lower <- upper
    defaultArg result lower

type SampleTelemetry() =
    let metrics = List<MetricSnapshot>()
    let points name =
        metrics |> Seq.tryFindBack (fun m -> m.Name = name) |> Option.map (fun m -> List.ofSeq m.MetricPoints) |> Option.defaultValue []
    let sum name (filter: MetricPoint -> bool) = points name |> List.filter filter |> List.sumBy (fun p -> p.GetSumLong())

    /// The telemetry of a run started with --telemetry, or None.
    static member FromArgs(args: string array) = if args |> Array.contains "--telemetry" then Some(SampleTelemetry()) else None

    member _.AddTo(services: IServiceCollection) =
        services.AddOpenTelemetry()
            .WithTracing(fun tracing -> tracing.AddTwylaInstrumentation().AddConsoleExporter() |> ignore)
            .WithMetrics(fun meters -> meters.AddTwylaInstrumentation().AddConsoleExporter().AddInMemoryExporter(metrics) |> ignore)
        |> ignore

    /// Collects the metrics now (the console gets them too) and summarizes them.
    member _.Summarize(services: System.IServiceProvider) =
        metrics.Clear()
        services.GetRequiredService<MeterProvider>().ForceFlush() |> ignore
        let durations = points TwylaTelemetry.ProcessDuration
        let sent = sum TwylaTelemetry.SentMessages (fun p -> hasTag p "twyla.outcome" "confirmed")
        let consumed = sum TwylaTelemetry.ConsumedMessages (fun _ -> true)
        let deadLettered = sum TwylaTelemetry.SettledMessages (fun p -> hasTag p "twyla.settlement" "dead_letter")
        String.concat "\n" [
            "Telemetry (read from the metrics)"
            sprintf "  sent:          %d" sent
            sprintf "  consumed:      %d" consumed
            sprintf "  dead-lettered: %d" deadLettered
            sprintf "  handler duration: p50 %.2f ms, p99 %.2f ms" (quantile durations 0.5 * 1000.) (quantile durations 0.99 * 1000.) ]
