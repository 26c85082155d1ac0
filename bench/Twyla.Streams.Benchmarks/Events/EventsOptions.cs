namespace Twyla.Streams.Benchmarks.Events;

/// <summary>The options of the events benchmark (see <see cref="Usage"/>).</summary>
internal sealed class EventsOptions
{
    public const string Usage =
        "usage: dotnet run -c Release --project bench/Twyla.Streams.Benchmarks -- events [options]\n" +
        "  --count N            events per measured round (default 200000)\n" +
        "  --rounds N           measured rounds per side, the order of ours/raw/masstransit rotating (default 3)\n" +
        "  --warmup N           events of the warm-up round of each side (default count/4; 0 = none)\n" +
        "  --parallelism N      handlers at once in ack on completion (default 16)\n" +
        "  --prefetch N         prefetch of every consumer (default 200)\n" +
        "  --max-in-flight N    unconfirmed publishes, every side (default 256 = EmitSettings.Default)\n" +
        "  --no-masstransit     skip the MassTransit 8 side (publish with confirms, same prefetch and concurrency)\n" +
        "  --raw-limiter        also measure the raw client with its ThrottlingRateLimiter bounding the window\n" +
        "  --raw-cloudevents    also measure the raw client sending our exact wire format (CloudEvents headers)\n" +
        "  --raw-wire-parts     also measure the raw client sending parts of it: only our headers, only our native\n" +
        "                       properties, and a plain message whose body is padded to our message's size\n" +
        "  --wire-steps         also measure the raw client sending the plain message plus, step by step, what our\n" +
        "                       messages carried up to 0.1.0 (native copies, then one cloudEvents_* header after another)\n" +
        "  --telemetry          also measure ours with tracing and metrics on, exported to the in-memory exporter\n" +
        "  --split              also measure emit only and consume only (a filled queue), ours and raw\n" +
        "  --only ours|raw|masstransit  profiling aid: run rounds of one side only and print no figures\n" +
        "  --no-throughput      skip the throughput rounds\n" +
        "  --memory             also measure working set after 100,000 vs after --memory-count events\n" +
        "  --memory-first N     first memory reading after N events (default 100000)\n" +
        "  --memory-count N     second memory reading after N events (default 1000000)\n" +
        "The broker is taken from Twyla__Amqp__Uri (default amqp://guest:guest@127.0.0.1:5672/).";

    public int Count { get; private set; } = 200_000;

    public int Rounds { get; private set; } = 3;

    public int? WarmupCount { get; private set; }

    public int Parallelism { get; private set; } = 16;

    public int Prefetch { get; private set; } = 200;

    public int MaxInFlight { get; private set; } = 256;

    public bool RawLimiter { get; private set; }

    public bool MassTransit { get; private set; } = true;

    public bool Split { get; private set; }

    public bool Telemetry { get; private set; }

    public bool Help { get; private set; }

    public bool RawCloudEvents { get; private set; }

    public bool RawWireParts { get; private set; }

    public bool WireSteps { get; private set; }

    public string? Only { get; private set; }

    public bool Throughput { get; private set; } = true;

    public bool Memory { get; private set; }

    public int MemoryFirst { get; private set; } = 100_000;

    public int MemoryCount { get; private set; } = 1_000_000;

    public int Warmup => WarmupCount ?? Count / 4;

    public static EventsOptions Parse(IReadOnlyList<string> args)
    {
        var o = new EventsOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            int Next() => OptionNumber.Next(args, ref i);

            switch (arg)
            {
                case "--count": o.Count = Math.Max(1, Next()); break;
                case "--rounds": o.Rounds = Math.Max(1, Next()); break;
                case "--warmup": o.WarmupCount = Next(); break;
                case "--parallelism": o.Parallelism = Math.Max(1, Next()); break;
                case "--prefetch": o.Prefetch = Math.Clamp(Next(), 1, ushort.MaxValue); break;
                case "--max-in-flight": o.MaxInFlight = Math.Clamp(Next(), 1, ushort.MaxValue); break;
                case "--raw-limiter": o.RawLimiter = true; break;
                case "--no-masstransit": o.MassTransit = false; break;
                case "--help" or "-h": o.Help = true; break;
                case "--split": o.Split = true; break;
                case "--telemetry": o.Telemetry = true; break;
                case "--raw-cloudevents": o.RawCloudEvents = true; break;
                case "--raw-wire-parts": o.RawWireParts = true; break;
                case "--wire-steps": o.WireSteps = true; break;
                case "--only":
                    o.Only = i + 1 < args.Count && args[i + 1] is "ours" or "raw" or "masstransit" ? args[++i] : throw new ArgumentException("--only needs 'ours', 'raw' or 'masstransit'");
                    break;
                case "--no-throughput": o.Throughput = false; break;
                case "--memory": o.Memory = true; break;
                case "--memory-first": o.MemoryFirst = Math.Max(1, Next()); break;
                case "--memory-count": o.MemoryCount = Math.Max(1, Next()); break;
                default: throw new ArgumentException($"unknown option '{arg}'");
            }
        }

        if (o.Memory && o.MemoryCount <= o.MemoryFirst)
        {
            throw new ArgumentException("--memory-count must be larger than --memory-first");
        }

        return o;
    }
}
