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

    /// <summary>Ends the span's status: Ok, or Error with <c>error.type</c> (the failure code, or <c>timeout</c>).</summary>
    public static void Failed(Activity? activity, string errorType, string message)
    {
        activity?.SetTag(TelemetryTags.ErrorType, errorType);
        activity?.SetStatus(ActivityStatusCode.Error, message);
    }
}
