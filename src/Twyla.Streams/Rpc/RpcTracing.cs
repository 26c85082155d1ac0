using System.Diagnostics;

namespace Twyla.Streams.Rpc;

/// <summary>The client spans of RPC calls, on the <see cref="ActivitySource"/> named <see cref="RpcClient.ActivitySourceName"/>.</summary>
internal static class RpcTracing
{
    private static readonly ActivitySource Source = new(RpcClient.ActivitySourceName);

    /// <summary>A client span for a call to <paramref name="target"/>, or <c>null</c> when nobody listens.</summary>
    public static Activity? StartClient(RpcTarget target)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        var activity = Source.StartActivity("rpc " + target.Procedure, ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("rpc.system", "twyla");
            activity.SetTag("rpc.service", target.Service);
            activity.SetTag("rpc.method", target.Procedure);
            activity.SetTag("url.full", target.Endpoint!.AbsoluteUri);
        }

        return activity;
    }
}
