using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Hosting.Tests.Infrastructure;

namespace Twyla.Streams.Hosting.Tests.Observability;

/// <summary>
/// A service as users build one: Kestrel on 127.0.0.1, Twyla events on the test broker (an exchange of the test's
/// own), RPC, and OpenTelemetry turned on with <c>AddTwylaInstrumentation</c>, exporting to memory. Meters and
/// activity sources are process-wide, so a test reads only what carries its own names (exchange, service, procedure).
/// </summary>
internal sealed class ObservedHost : IAsyncDisposable
{
    private readonly List<MetricSnapshot> _metrics = [];
    private readonly ConcurrentQueue<Activity> _spans = new();

    private ObservedHost()
    {
    }

    public WebApplication App { get; private set; } = null!;

    public Uri Address { get; private set; } = null!;

    public EventBus Bus => App.Services.GetRequiredService<EventBus>();

    public Twyla.Streams.Rpc.RpcClient Rpc => App.Services.GetRequiredService<Twyla.Streams.Rpc.RpcClient>();

    /// <summary>Every span ended in the process since the host started, as exported.</summary>
    public IReadOnlyList<Activity> Spans => [.. _spans];

    public static async Task<ObservedHost> StartAsync(
        string serviceName,
        string exchange,
        Action<AkkaConfigurationBuilder> listeners,
        Action<WebApplication> endpoints,
        IReadOnlyDictionary<string, Uri>? rpcServices = null,
        ILoggerProvider? logs = null)
    {
        var host = new ObservedHost();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        if (logs is not null)
        {
            builder.Logging.AddProvider(logs);
        }

        builder.Configuration["Twyla:ServiceName"] = serviceName;
        builder.Configuration["Twyla:Transport"] = "RabbitMq";
        builder.Configuration["Twyla:Amqp:Uri"] = Broker.Uri;
        builder.Configuration["Twyla:Exchange"] = exchange;
        foreach (var (name, address) in rpcServices ?? new Dictionary<string, Uri>())
        {
            builder.Configuration[$"Twyla:Rpc:Services:{name}"] = address.AbsoluteUri;
        }

        builder.Services.AddRpc(builder.Configuration);
        builder.AddTwyla(akka => listeners(akka.AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)));
        builder.Services.AddOpenTelemetry()
            .WithTracing(t => t.AddTwylaInstrumentation().AddSource("Microsoft.AspNetCore").AddInMemoryExporter(new SpanSink(host._spans)))
            .WithMetrics(m => m.AddTwylaInstrumentation().AddInMemoryExporter(host._metrics));
        var app = builder.Build();
        endpoints(app);
        await app.StartAsync(CancellationToken.None);
        host.App = app;
        host.Address = new Uri(app.Urls.First());
        return host;
    }

    /// <summary>Collects the metrics now and returns the points of <paramref name="name"/> that carry every one of <paramref name="tags"/>.</summary>
    public IReadOnlyList<MetricPoint> Points(string name, params (string Key, object Value)[] tags)
    {
        lock (_metrics)
        {
            _metrics.Clear();
            App.Services.GetRequiredService<MeterProvider>().ForceFlush();
            var metric = _metrics.LastOrDefault(m => m.Name == name);
            if (metric is null)
            {
                return [];
            }

            return metric.MetricPoints.Where(p => tags.All(t => HasTag(p, t.Key, t.Value))).ToList();
        }
    }

    /// <summary>The sum of a counter (or up-down counter) over the points carrying <paramref name="tags"/>.</summary>
    public long Sum(string name, params (string Key, object Value)[] tags) => Points(name, tags).Sum(p => p.GetSumLong());

    /// <summary>How many measurements a histogram took over the points carrying <paramref name="tags"/>.</summary>
    public long Count(string name, params (string Key, object Value)[] tags) => Points(name, tags).Sum(p => p.GetHistogramCount());

    /// <summary>Whether a point has the tag (a tag <c>null</c> means: the point must not have the key).</summary>
    public static bool HasTag(MetricPoint point, string key, object? value)
    {
        foreach (var tag in point.Tags)
        {
            if (tag.Key == key)
            {
                return Equals(tag.Value, value);
            }
        }

        return value is Absent;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
    }

    /// <summary>A tag value that matches only points without the key.</summary>
    public sealed class Absent
    {
        public static readonly Absent Value = new();
    }

    /// <summary>The in-memory exporter's collection, made safe for the exporter's threads and the test's.</summary>
    private sealed class SpanSink(ConcurrentQueue<Activity> spans) : ICollection<Activity>
    {
        public int Count => spans.Count;

        public bool IsReadOnly => false;

        public void Add(Activity item) => spans.Enqueue(item);

        public void Clear() => throw new NotSupportedException();

        public bool Contains(Activity item) => spans.Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => spans.CopyTo(array, arrayIndex);

        public IEnumerator<Activity> GetEnumerator() => spans.GetEnumerator();

        public bool Remove(Activity item) => throw new NotSupportedException();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
