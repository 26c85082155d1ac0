using System.Diagnostics;
using Twyla.Streams.Diagnostics;

namespace Twyla.Streams.Rpc;

/// <summary>
/// The client spans of RPC calls, on the <see cref="ActivitySource"/> named <see cref="RpcClient.ActivitySourceName"/>,
/// with the attributes of OpenTelemetry's RPC conventions (<c>rpc.system</c> <c>twyla</c>, <c>rpc.service</c>,
/// <c>rpc.method</c>, <c>server.address</c>, <c>server.port</c>, <c>error.type</c>).
/// </summary>
internal static class RpcTracing
{
    private static readonly ActivitySource Source = new(RpcClient.ActivitySourceName);

    /// <summary>A client span for a call to <paramref name="target"/>, or <c>null</c> when nobody listens.</summary>
    public static Activity? StartClient(RpcTarget target, string correlationId)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity(target.Service + "/" + target.Method, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(TelemetryTags.RpcSystem, RpcClientTelemetry.System);
            activity.SetTag(TelemetryTags.RpcService, target.Service);
            activity.SetTag(TelemetryTags.RpcMethod, target.Method);
            activity.SetTag(TelemetryTags.ServerAddress, target.Endpoint!.Host);
            activity.SetTag(TelemetryTags.ServerPort, target.Endpoint.Port);
            activity.SetTag("url.full", target.Endpoint.AbsoluteUri);
            activity.SetTag(TelemetryTags.CorrelationId, correlationId);
        }

        return activity;
    }

    /// <summary>
    /// Gives the span the call's outcome, classified as its metric is (<see cref="RpcClientTelemetry.Classify{T}"/>):
    /// status Ok, or Error with <c>error.type</c> (the failure code, <c>cancelled</c> among them, or <c>timeout</c>).
    /// </summary>
    public static void Ended<T>(Activity? activity, RpcResult<T> result)
    {
        if (activity is null)
        {
            return;
        }

        var (_, errorType) = RpcClientTelemetry.Classify(result);
        if (errorType is null)
        {
            activity.SetStatus(ActivityStatusCode.Ok);
            return;
        }

        activity.SetTag(TelemetryTags.ErrorType, errorType);
        activity.SetStatus(ActivityStatusCode.Error, result is RpcResult<T>.Failure failure ? failure.Message : errorType);
    }
}
