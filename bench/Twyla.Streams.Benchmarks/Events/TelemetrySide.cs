using System.Collections;
using System.Diagnostics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Twyla.Streams.Hosting;

namespace Twyla.Streams.Benchmarks.Events;

/// <summary>
/// The <c>--telemetry</c> side: while a round runs, OpenTelemetry records Twyla's spans (every emit and every
/// handler) and metrics (<c>AddTwylaInstrumentation</c>) and exports them to the in-memory exporter, as a service
/// with telemetry on does. Spans go to a collection that counts them and lets them go (keeping hundreds of thousands
/// of spans would measure the garbage collector, not the instrumentation); metrics are collected once at the end.
/// </summary>
internal sealed class TelemetrySide : IDisposable
{
    private readonly CountingCollection _spans = new();
    private readonly List<Metric> _metrics = [];
    private readonly TracerProvider _tracing;
    private readonly MeterProvider _meters;

    private TelemetrySide()
    {
        _tracing = Sdk.CreateTracerProviderBuilder().AddTwylaInstrumentation().AddInMemoryExporter(_spans).Build();
        _meters = Sdk.CreateMeterProviderBuilder().AddTwylaInstrumentation().AddInMemoryExporter(_metrics).Build();
    }

    /// <summary>Runs <paramref name="round"/> with telemetry on; throws when no span was exported (the side would measure nothing).</summary>
    public static async Task<RoundResult> RunAsync(Func<Task<RoundResult>> round)
    {
        using var side = new TelemetrySide();
        var result = await round();
        side._meters.ForceFlush();
        if (side._spans.Count == 0 || side._metrics.Count == 0)
        {
            throw new InvalidOperationException("the telemetry side exported no spans or no metrics");
        }

        return result;
    }

    public void Dispose()
    {
        _tracing.Dispose();
        _meters.Dispose();
    }

    /// <summary>Counts the exported spans and lets them go.</summary>
    internal sealed class CountingCollection : ICollection<Activity>
    {
        private long _count;

        public int Count => (int)Math.Min(int.MaxValue, Interlocked.Read(ref _count));

        public bool IsReadOnly => false;

        public void Add(Activity item) => Interlocked.Increment(ref _count);

        public void Clear() => Interlocked.Exchange(ref _count, 0);

        public bool Contains(Activity item) => false;

        public void CopyTo(Activity[] array, int arrayIndex)
        {
        }

        public IEnumerator<Activity> GetEnumerator() => Enumerable.Empty<Activity>().GetEnumerator();

        public bool Remove(Activity item) => false;

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
