using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Hosting;

/// <summary>
/// <c>--telemetry</c>: Twyla's traces and metrics exported to the console with <c>AddTwylaInstrumentation</c>, and a
/// summary of the run read from the metrics themselves (kept in memory as well): events sent, consumed and
/// dead-lettered, and the handler duration's p50 and p99.
/// </summary>
internal sealed class SampleTelemetry
{
    private readonly List<MetricSnapshot> _metrics = [];

    /// <summary>The telemetry of a run started with <c>--telemetry</c>, or <c>null</c>.</summary>
    public static SampleTelemetry? FromArgs(string[] args) => args.Contains("--telemetry") ? new SampleTelemetry() : null;

    public void AddTo(IServiceCollection services) =>
        services.AddOpenTelemetry()
            .WithTracing(tracing => tracing.AddTwylaInstrumentation().AddConsoleExporter())
            .WithMetrics(metrics => metrics.AddTwylaInstrumentation().AddConsoleExporter().AddInMemoryExporter(_metrics));

    /// <summary>Collects the metrics now (the console gets them too) and summarizes them.</summary>
    public string Summarize(IServiceProvider services)
    {
        _metrics.Clear();
        services.GetRequiredService<MeterProvider>().ForceFlush();
        var durations = Points(TwylaTelemetry.ProcessDuration).ToList();
        var text = new StringBuilder();
        text.AppendLine("Telemetry (read from the metrics)");
        text.AppendLine(CultureInfo.InvariantCulture, $"  sent:          {Sum(TwylaTelemetry.SentMessages, "twyla.outcome", "confirmed")}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  consumed:      {Sum(TwylaTelemetry.ConsumedMessages, null, null)}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  dead-lettered: {Sum(TwylaTelemetry.SettledMessages, "twyla.settlement", "dead_letter")}");
        text.Append(CultureInfo.InvariantCulture, $"  handler duration: p50 {Quantile(durations, 0.5) * 1000:0.##} ms, p99 {Quantile(durations, 0.99) * 1000:0.##} ms");
        return text.ToString();
    }

    private IEnumerable<MetricPoint> Points(string name) =>
        _metrics.LastOrDefault(m => m.Name == name)?.MetricPoints ?? [];

    private long Sum(string name, string? key, string? value) =>
        Points(name).Where(p => key is null || Has(p, key, value)).Sum(p => p.GetSumLong());

    private static bool Has(MetricPoint point, string key, string? value)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return Equals(tag.Value, value);
            }
        }

        return false;
    }

    /// <summary>
    /// The <paramref name="q"/> quantile of a histogram, in its unit: found in the bucket that holds it and interpolated
    /// linearly inside it (as Prometheus' <c>histogram_quantile</c> does).
    /// </summary>
    private static double Quantile(IReadOnlyList<MetricPoint> points, double q)
    {
        var buckets = new SortedDictionary<double, long>();
        foreach (var point in points)
        {
            foreach (var bucket in point.GetHistogramBuckets())
            {
                buckets[bucket.ExplicitBound] = buckets.GetValueOrDefault(bucket.ExplicitBound) + bucket.BucketCount;
            }
        }

        var total = buckets.Values.Sum();
        if (total == 0)
        {
            return 0;
        }

        var rank = q * total;
        double lower = 0, seen = 0;
        foreach (var (upper, count) in buckets)
        {
            if (seen + count >= rank && count > 0)
            {
                return double.IsPositiveInfinity(upper) ? lower : lower + ((upper - lower) * (rank - seen) / count);
            }

            seen += count;
            lower = double.IsPositiveInfinity(upper) ? lower : upper;
        }

        return lower;
    }
}
