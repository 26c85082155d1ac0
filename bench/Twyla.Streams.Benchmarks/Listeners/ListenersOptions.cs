using Twyla.Streams.Events;

namespace Twyla.Streams.Benchmarks.Listeners;

/// <summary>The options of the many-listeners benchmark (see <see cref="Usage"/>).</summary>
internal sealed class ListenersOptions
{
    public const string Usage =
        "usage: dotnet run -c Release --project bench/Twyla.Streams.Benchmarks -- listeners [options]\n" +
        "  --listeners N        listeners (groups) of the many side, each on an event name of its own (default 100)\n" +
        "  --count N            events per measured round, spread evenly over the listeners of a side (default 20000)\n" +
        "  --rounds N           measured rounds per side, alternating one listener / many (default 3)\n" +
        "  --warmup N           events of the warm-up round of each side (default count/4; 0 = none)\n" +
        "  --parallelism N      handlers at once per listener (default 1 = AckOnCompletionSettings.Default)\n" +
        "  --prefetch N         prefetch per listener (default 100 = ListenSettings.Default)\n" +
        "  --hosted-rounds N    rounds that also measure a hosted service's start-up and stop (AddTwyla +\n" +
        "                       WithTwylaListener), one and many listeners (default 1; 0 = none)\n" +
        "The broker is taken from Twyla__Amqp__Uri (default amqp://guest:guest@127.0.0.1:5672/); channels and\n" +
        "connections are read from the broker with rabbitmqctl when TWYLA_RABBITMQ_DIR and TWYLA_RABBITMQ_NODE_SCRIPT\n" +
        "name a node started with tests/rabbitmq-node.sh.";

    public int Listeners { get; private set; } = 100;

    public int Count { get; private set; } = 20_000;

    public int Rounds { get; private set; } = 3;

    public int? WarmupCount { get; private set; }

    public int Parallelism { get; private set; } = AckOnCompletionSettings.Default.Parallelism;

    public int Prefetch { get; private set; } = ListenSettings.Default.Prefetch;

    public bool Help { get; private set; }

    public int HostedRounds { get; private set; } = 1;

    public int Warmup => (WarmupCount ?? Count / 4) is var w && w > 0 ? Math.Max(w, Listeners) : 0;

    public static ListenersOptions Parse(IReadOnlyList<string> args)
    {
        var o = new ListenersOptions();
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            int Next() => OptionNumber.Next(args, ref i);

            switch (arg)
            {
                case "--listeners": o.Listeners = Math.Max(2, Next()); break;
                case "--count": o.Count = Math.Max(1, Next()); break;
                case "--rounds": o.Rounds = Math.Max(1, Next()); break;
                case "--warmup": o.WarmupCount = Next(); break;
                case "--parallelism": o.Parallelism = Math.Clamp(Next(), 1, 10_000); break;
                case "--prefetch": o.Prefetch = Math.Clamp(Next(), 1, ushort.MaxValue); break;
                case "--help" or "-h": o.Help = true; break;
                case "--hosted-rounds": o.HostedRounds = Next(); break;
                default: throw new ArgumentException($"unknown option '{arg}'");
            }
        }

        if (o.Count < o.Listeners)
        {
            throw new ArgumentException("--count must be at least --listeners (every listener gets events)");
        }

        return o;
    }
}
