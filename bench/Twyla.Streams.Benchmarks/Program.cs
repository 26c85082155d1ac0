// The benchmark harness: `dotnet run -c Release --project bench/Twyla.Streams.Benchmarks -- <events|rpc|latency|listeners|telemetry-cost>`.
// Each benchmark prints one line per figure, and its ratio against the baseline measured in the same run last.
var which = args.Length > 0 ? args[0] : "";
switch (which)
{
    case "events": return await Twyla.Streams.Benchmarks.Events.EventsBenchmark.RunAsync(args[1..]);
    case "rpc": return await Twyla.Streams.Benchmarks.RpcBenchmark.RunAsync(args[1..]);
    case "latency": return await Twyla.Streams.Benchmarks.Latency.LatencyBenchmark.RunAsync(args[1..]);
    case "listeners": return await Twyla.Streams.Benchmarks.Listeners.ListenersBenchmark.RunAsync(args[1..]);
    case "telemetry-cost": return Twyla.Streams.Benchmarks.TelemetryCostBenchmark.Run(args[1..]);
    default:
        Console.Error.WriteLine("usage: dotnet run -c Release --project bench/Twyla.Streams.Benchmarks -- <events|rpc|latency|listeners|telemetry-cost> [options]");
        return 2;
}
