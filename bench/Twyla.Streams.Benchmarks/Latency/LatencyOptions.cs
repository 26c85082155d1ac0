namespace Twyla.Streams.Benchmarks.Latency;

/// <summary>The options of the latency benchmark (see <see cref="Usage"/>).</summary>
internal sealed class LatencyOptions
{
    public const string Usage =
        "usage: dotnet run -c Release --project bench/Twyla.Streams.Benchmarks -- latency [options]\n" +
        "  --rates R,R,...      events per second, open loop (default 1000,5000)\n" +
        "  --duration S         seconds measured per rate and side (default 20)\n" +
        "  --rounds N           rounds per rate and side, the order of the sides rotating (default 2; duration split)\n" +
        "  --warmup S           seconds of warm-up per side at the highest rate, not recorded (default 3; 0 = none)\n" +
        "  --parallelism N      handlers at once (ours: ack on completion; MassTransit: concurrent message limit) (default 16)\n" +
        "  --prefetch N         prefetch of every consumer (default 200)\n" +
        "  --max-in-flight N    unconfirmed publishes, every side (default 256 = EmitSettings.Default)\n" +
        "  --no-masstransit     skip the MassTransit 8 side\n" +
        "The broker is taken from Twyla__Amqp__Uri (default amqp://guest:guest@127.0.0.1:5672/).";

    public IReadOnlyList<int> Rates { get; private set; } = [1000, 5000];

    public int Duration { get; private set; } = 20;

    public int Rounds { get; private set; } = 2;

    public int Warmup { get; private set; } = 3;

    public int Parallelism { get; private set; } = 16;

    public int Prefetch { get; private set; } = 200;

    public int MaxInFlight { get; private set; } = 256;

    public bool MassTransit { get; private set; } = true;

    public bool Help { get; private set; }

    /// <summary>Events per round at <paramref name="rate"/>.</summary>
    public int RoundCount(int rate) => Math.Max(1, (int)((long)rate * Duration / Rounds));

    public static LatencyOptions Parse(IReadOnlyList<string> args)
    {
        var o = new LatencyOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{arg} needs a value");
            int Number(string text) => OptionNumber.Parse(arg, text);

            switch (arg)
            {
                case "--rates":
                    o.Rates = [.. Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(r => Math.Max(1, Number(r)))];
                    if (o.Rates.Count == 0)
                    {
                        throw new ArgumentException("--rates needs at least one rate");
                    }

                    break;
                case "--duration": o.Duration = Math.Max(1, Number(Value())); break;
                case "--rounds": o.Rounds = Math.Max(1, Number(Value())); break;
                case "--warmup": o.Warmup = Number(Value()); break;
                case "--parallelism": o.Parallelism = Math.Max(1, Number(Value())); break;
                case "--prefetch": o.Prefetch = Math.Clamp(Number(Value()), 1, ushort.MaxValue); break;
                case "--max-in-flight": o.MaxInFlight = Math.Clamp(Number(Value()), 1, ushort.MaxValue); break;
                case "--no-masstransit": o.MassTransit = false; break;
                case "--help" or "-h": o.Help = true; break;
                default: throw new ArgumentException($"unknown option '{arg}'");
            }
        }

        return o;
    }
}
