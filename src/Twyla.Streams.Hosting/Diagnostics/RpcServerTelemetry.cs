using System.Diagnostics;
using System.Diagnostics.Metrics;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Hosting.Diagnostics;

/// <summary>
/// The server side of RPC: a <c>{procedure}</c> server span around each served call (a child of the request's span, or
/// of the caller's <c>traceparent</c> when nothing traces the request), and <see cref="TwylaHostingTelemetry.RpcServerDuration"/>
/// by procedure and outcome (<c>success</c>, <c>failure</c> with the failure code as <c>error.type</c>, <c>cancelled</c>
/// included when the caller went away, <c>timeout</c> when the caller's deadline passed).
/// </summary>
internal static class RpcServerTelemetry
{
    private static readonly Histogram<double> Duration = TwylaHostingTelemetry.Meter.CreateHistogram(
        TwylaHostingTelemetry.RpcServerDuration,
        "s",
        "Duration of served procedures, from the request to the response written.",
        tags: null,
        new InstrumentAdvice<double> { HistogramBucketBoundaries = TwylaTelemetry.DurationBuckets });

    /// <summary>A server span for serving <paramref name="procedure"/>, or <c>null</c> when nobody listens.</summary>
    public static Activity? Start(string procedure, string? traceParent, string? traceState)
    {
        if (!TwylaHostingTelemetry.Source.HasListeners())
        {
            return null;
        }

        // Under the request's own span when one runs (ASP.NET Core's continues the caller's trace); else the caller's.
        var parent = Activity.Current is { } current ? current.Context
            : ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var remote) ? remote
            : default;
        var activity = TwylaHostingTelemetry.Source.StartActivity(procedure, ActivityKind.Server, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.system", "twyla");
            activity.SetTag("rpc.method", procedure);
        }

        return activity;
    }

    /// <summary>Records a served call that ended with <paramref name="failureCode"/> (<c>null</c>: success).</summary>
    public static void Served(Activity? activity, string procedure, long startTimestamp, string? failureCode)
    {
        var outcome = failureCode is null ? "success" : failureCode == RpcFailureCodes.DeadlineExceeded ? "timeout" : "failure";
        if (activity is not null)
        {
            activity.SetTag("twyla.outcome", outcome);
            if (failureCode is not null)
            {
                activity.SetTag("error.type", failureCode);
                activity.SetStatus(ActivityStatusCode.Error, failureCode);
            }
        }

        if (!Duration.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { "rpc.system", "twyla" },
            { "rpc.method", procedure },
            { "twyla.outcome", outcome },
        };
        if (failureCode is not null)
        {
            tags.Add("error.type", failureCode);
        }

        Duration.Record(Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds, tags);
    }
}
