using System.Diagnostics;
using Twyla.Streams.Events;

namespace Twyla.Streams.Diagnostics;

/// <summary>
/// W3C trace context for events: an emit publishes as a child of <see cref="Activity.Current"/> (a
/// <c>{name} publish</c> producer activity when someone listens to <see cref="ActivitySourceName"/>), and ack on
/// completion runs each handler in a <c>{name} process</c> consumer activity whose parent is the event's
/// <c>traceparent</c>, so events emitted and procedures called by the handler continue the same trace.
/// Register the source with OpenTelemetry (<c>AddSource(EventTracing.ActivitySourceName)</c>) to export it.
/// </summary>
public static class EventTracing
{
    /// <summary>The name of the <see cref="ActivitySource"/> of event activities.</summary>
    public const string ActivitySourceName = "Twyla.Streams.Events";

    internal static ActivitySource Source { get; } = new(ActivitySourceName);

    internal static Activity? StartPublish(string eventName) =>
        Source.HasListeners() ? Source.StartActivity($"{eventName} publish", ActivityKind.Producer) : null; // no name built per emit when nobody listens

    internal static Activity? StartProcess(EventMetadata metadata, string? traceParent, string? traceState)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var parent);
        var activity = Source.StartActivity($"{metadata.Name} process", ActivityKind.Consumer, parent);
        activity?.SetTag("messaging.message.id", metadata.Id);
        activity?.SetTag("messaging.message.conversation_id", metadata.CorrelationId);
        return activity;
    }
}
