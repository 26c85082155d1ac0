using System.Diagnostics;
using System.Diagnostics.Metrics;
using RabbitMQ.Client.Exceptions;
using Twyla.Streams.Events;

namespace Twyla.Streams.Diagnostics;

/// <summary>
/// The metrics of emits: <see cref="TwylaTelemetry.SentMessages"/> and <see cref="TwylaTelemetry.OperationDuration"/>
/// (emit to the broker's answer), by event name and outcome. Recorded once per emit, when its outcome is known, by
/// <c>EmitAsync</c> and the emit stage alike.
/// </summary>
internal static class EmitTelemetry
{
    /// <summary>The broker confirmed the event.</summary>
    public const string Confirmed = "confirmed";

    /// <summary>The broker refused the event (a nack).</summary>
    public const string Refused = "refused";

    /// <summary>A mandatory emit that no queue was bound for.</summary>
    public const string Unroutable = "unroutable";

    /// <summary>No confirm came within the confirm timeout.</summary>
    public const string TimedOut = "timed_out";

    /// <summary>The caller cancelled the emit.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Anything else: no publisher, a closed channel, a lost connection, a payload too large.</summary>
    public const string Failed = "failed";

    private static readonly Counter<long> Sent = TwylaTelemetry.Meter.CreateCounter<long>(
        TwylaTelemetry.SentMessages, "{message}", "Events emitted, by event name and outcome (confirmed, refused, unroutable, timed_out, cancelled, failed).");

    private static readonly Histogram<double> Duration = TwylaTelemetry.Seconds(
        TwylaTelemetry.OperationDuration, "Time from an emit to the broker's answer (confirm, nack, return or timeout).");

    /// <summary>Records the outcome of one emit started at <paramref name="startTimestamp"/>.</summary>
    public static void Record(MessagingTarget target, EventMetadata metadata, long startTimestamp, string outcome)
    {
        if (!Sent.Enabled && !Duration.Enabled)
        {
            return;
        }

        var tags = new TagList(target.PublishTags); // system, operation, destination: built once per transport
        tags.Add(TelemetryTags.RoutingKey, metadata.Name);
        tags.Add(TelemetryTags.Outcome, outcome);
        if (outcome != Confirmed)
        {
            tags.Add(TelemetryTags.ErrorType, outcome);
        }

        Sent.Add(1, tags);
        Duration.Record(TwylaTelemetry.ElapsedSeconds(startTimestamp), tags);
    }

    /// <summary>The outcome class of a failed emit, from its exception.</summary>
    public static string Classify(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case PublishReturnException:
                case PublishException { IsReturn: true }:
                    return Unroutable;
                case PublishException:
                    return Refused;
                case TimeoutException:
                    return TimedOut;
            }
        }

        return Failed;
    }
}
