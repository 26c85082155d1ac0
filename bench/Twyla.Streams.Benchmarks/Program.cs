// The benchmark harness: `dotnet run -c Release --project bench/Twyla.Streams.Benchmarks -- <events|rpc>`.
// Each benchmark prints one line per figure, and its ratio against the baseline measured in the same run last.
var which = args.Length > 0 ? args[0] : "";
switch (which)
{
    // "events" and "rpc" are added by their benchmarks, one line each.
    case "rpc": return await RpcBenchmark.RunAsync(args[1..]);
    default:
        Console.Error.WriteLine("usage: dotnet run -c Release --project bench/Twyla.Streams.Benchmarks -- <events|rpc> [options]");
        return 2;
}
