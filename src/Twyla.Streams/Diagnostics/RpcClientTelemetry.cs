using System.Diagnostics;
using System.Diagnostics.Metrics;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Diagnostics;

/// <summary>
/// The metrics of RPC calls made by <see cref="Rpc.RpcClient"/>: call duration by procedure and outcome
/// (<c>success</c>, <c>failure</c> with its failure code as <c>error.type</c>, <c>timeout</c>), retries, and the state
/// changes of the per-service circuit breakers.
/// </summary>
internal static class RpcClientTelemetry
{
    /// <summary>Outcome tag of a successful call.</summary>
    public const string Success = "success";

    /// <summary>Outcome tag of a failed call (its failure code is the <c>error.type</c>).</summary>
    public const string Failure = "failure";

    /// <summary>Outcome tag (and <c>error.type</c>) of a call whose deadline passed.</summary>
    public const string Timeout = "timeout";

    /// <summary>The value of <c>rpc.system</c>.</summary>
    public const string System = "twyla";

    private static readonly Histogram<double> Duration = TwylaTelemetry.Seconds(
        TwylaTelemetry.RpcClientDuration, "Duration of RPC calls as the caller sees them (all attempts and backoffs).");

    private static readonly Counter<long> Retries = TwylaTelemetry.Meter.CreateCounter<long>(
        TwylaTelemetry.RpcClientRetries, "{retry}", "Attempts of idempotent calls retried after a transient failure.");

    private static readonly Counter<long> CircuitChanges = TwylaTelemetry.Meter.CreateCounter<long>(
        TwylaTelemetry.RpcCircuitStateChanges, "{change}", "State changes of the per-service circuit breakers (open, half_open, closed).");

    /// <summary>
    /// The outcome of a call as its metric and its client span tell it: <c>twyla.outcome</c> and <c>error.type</c>
    /// (<c>null</c> for a success). The one place a result is classified.
    /// </summary>
    public static (string Outcome, string? ErrorType) Classify<T>(RpcResult<T> result) => result switch
    {
        RpcResult<T>.Success => (Success, null),
        RpcResult<T>.Failure failure => (Failure, failure.Code),
        _ => (Timeout, Timeout),
    };

    /// <summary>Records a call to <paramref name="service"/>.<paramref name="method"/> that ended with <paramref name="result"/>.</summary>
    public static void Called<T>(string service, string method, long startTimestamp, RpcResult<T> result)
    {
        if (!Duration.Enabled)
        {
            return;
        }

        var (outcome, errorType) = Classify(result);
        var tags = new TagList
        {
            { TelemetryTags.RpcSystem, System },
            { TelemetryTags.RpcService, service },
            { TelemetryTags.RpcMethod, method },
            { TelemetryTags.Outcome, outcome },
        };
        if (errorType is not null)
        {
            tags.Add(TelemetryTags.ErrorType, errorType);
        }

        Duration.Record(TwylaTelemetry.ElapsedSeconds(startTimestamp), tags);
    }

    /// <summary>An attempt of a call to <paramref name="service"/>.<paramref name="method"/> failed transiently and is tried again.</summary>
    public static void Retried(string service, string method, string? errorType)
    {
        Activity.Current?.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection { { TelemetryTags.ErrorType, errorType } }));
        if (Retries.Enabled)
        {
            Retries.Add(
                1,
                new KeyValuePair<string, object?>(TelemetryTags.RpcSystem, System),
                new KeyValuePair<string, object?>(TelemetryTags.RpcService, service),
                new KeyValuePair<string, object?>(TelemetryTags.RpcMethod, method));
        }
    }

    /// <summary>The circuit breaker of <paramref name="service"/> moved to <paramref name="state"/> (<c>open</c>, <c>half_open</c>, <c>closed</c>).</summary>
    public static void CircuitChanged(string service, string state) =>
        CircuitChanges.Add(
            1,
            new KeyValuePair<string, object?>(TelemetryTags.RpcSystem, System),
            new KeyValuePair<string, object?>(TelemetryTags.RpcService, service),
            new KeyValuePair<string, object?>(TelemetryTags.CircuitState, state));
}
