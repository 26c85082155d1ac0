using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Twyla.Streams.Hosting.Diagnostics;

/// <summary>
/// The names under which Twyla.Streams.Hosting reports: one <see cref="System.Diagnostics.Metrics.Meter"/> for the
/// assembly (<see cref="MeterName"/>: hosted listeners' state changes and restarts, served procedures' durations) and
/// the <see cref="ActivitySource"/> of served procedures (<see cref="ActivitySourceName"/>).
/// <c>AddTwylaInstrumentation</c> registers them with the library's own.
/// </summary>
public static class TwylaHostingTelemetry
{
    /// <summary>The name of the hosting assembly's <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    public const string MeterName = "Twyla.Streams.Hosting";

    /// <summary>The name of the <see cref="ActivitySource"/> of the server spans of served procedures.</summary>
    public const string ActivitySourceName = "Twyla.Streams.Hosting";

    /// <summary>Histogram of served procedures' durations, in seconds, by procedure and outcome.</summary>
    public const string RpcServerDuration = "rpc.server.call.duration";

    /// <summary>Counter of hosted listeners' state changes, by listener and new state.</summary>
    public const string ListenerStateChanges = "twyla.listener.state_changes";

    /// <summary>Counter of hosted listeners' restarts after a failure.</summary>
    public const string ListenerRestarts = "twyla.listener.restarts";

    /// <summary>The hosting assembly's one meter.</summary>
    internal static Meter Meter { get; } = new(MeterName, typeof(TwylaHostingTelemetry).Assembly.GetName().Version?.ToString(3));

    /// <summary>The source of server spans.</summary>
    internal static ActivitySource Source { get; } = new(ActivitySourceName);
}
