namespace Twyla.Streams.Benchmarks;

/// <summary>The RPC benchmark's response.</summary>
public sealed record WorkResult(int Id, string Customer, int Total);
