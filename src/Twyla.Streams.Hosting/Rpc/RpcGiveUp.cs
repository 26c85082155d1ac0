using Twyla.Streams.Rpc;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>The rule that names why a served call was given up on.</summary>
internal static class RpcGiveUp
{
    /// <summary>
    /// Why a call was given up on, as its metric and span tell it: <see cref="RpcFailureCodes.DeadlineExceeded"/> when its
    /// deadline passed here, or when the caller went away in the last half of its deadline window (at most its last
    /// second): a caller's own timeout reaches the server as a disconnect a little before the server's copy of the
    /// deadline (which starts when the request arrived), and the server cannot tell it from a cancel. Otherwise the
    /// caller went away early: <see cref="RpcFailureCodes.Cancelled"/>.
    /// </summary>
    public static string Outcome(bool aborted, DateTimeOffset now, DateTimeOffset? deadline, TimeSpan window)
    {
        if (!aborted || deadline is not { } due)
        {
            return aborted ? RpcFailureCodes.Cancelled : RpcFailureCodes.DeadlineExceeded;
        }

        var lastPart = TimeSpan.FromTicks(Math.Min(window.Ticks / 2, TimeSpan.TicksPerSecond));
        return now >= due - lastPart ? RpcFailureCodes.DeadlineExceeded : RpcFailureCodes.Cancelled;
    }
}
