using System.Diagnostics.Metrics;
using Twyla.Streams.Hosting.Listeners;

namespace Twyla.Streams.Hosting.Diagnostics;

/// <summary>
/// The metrics of hosted listeners: <see cref="TwylaHostingTelemetry.ListenerStateChanges"/> (by listener pattern,
/// group and the state entered) and <see cref="TwylaHostingTelemetry.ListenerRestarts"/>.
/// </summary>
internal static class ListenerStateTelemetry
{
    private static readonly Counter<long> StateChanges = TwylaHostingTelemetry.Meter.CreateCounter<long>(
        TwylaHostingTelemetry.ListenerStateChanges, "{change}", "State changes of hosted listeners, by the state entered.");

    private static readonly Counter<long> Restarts = TwylaHostingTelemetry.Meter.CreateCounter<long>(
        TwylaHostingTelemetry.ListenerRestarts, "{restart}", "Restarts of hosted listeners after a failure.");

    /// <summary>The listener <paramref name="pattern"/>/<paramref name="group"/> entered <paramref name="state"/>.</summary>
    public static void Changed(string pattern, string group, ListenerState state)
    {
        if (StateChanges.Enabled)
        {
            StateChanges.Add(
                1,
                new KeyValuePair<string, object?>("twyla.listener.pattern", pattern),
                new KeyValuePair<string, object?>("messaging.consumer.group.name", group),
                new KeyValuePair<string, object?>("twyla.listener.state", StateName(state)));
        }
    }

    /// <summary>The listener <paramref name="pattern"/>/<paramref name="group"/> restarts after a failure.</summary>
    public static void Restarted(string pattern, string group)
    {
        if (Restarts.Enabled)
        {
            Restarts.Add(
                1,
                new KeyValuePair<string, object?>("twyla.listener.pattern", pattern),
                new KeyValuePair<string, object?>("messaging.consumer.group.name", group));
        }
    }

    private static string StateName(ListenerState state) => state switch
    {
        ListenerState.Starting => "starting",
        ListenerState.Running => "running",
        ListenerState.Restarting => "restarting",
        ListenerState.Draining => "draining",
        ListenerState.Stopped => "stopped",
        _ => state.ToString().ToLowerInvariant(),
    };
}
