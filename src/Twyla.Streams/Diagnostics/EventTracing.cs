using System.Diagnostics;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Diagnostics;

/// <summary>
/// W3C trace context for events: an emit publishes as a child of <see cref="Activity.Current"/> (a
/// <c>{name} publish</c> producer activity when someone listens to <see cref="ActivitySourceName"/>), and ack on
/// completion runs each handler in a <c>{name} process</c> consumer activity whose parent is the event's
/// <c>traceparent</c>, so events emitted and procedures called by the handler continue the same trace. Both carry the
/// attributes of OpenTelemetry's messaging conventions; the consumer span also tells how its event was settled.
/// Register the source with OpenTelemetry (<c>AddSource(EventTracing.ActivitySourceName)</c>) to export it.
/// </summary>
public static class EventTracing
{
    /// <summary>The name of the <see cref="ActivitySource"/> of event activities.</summary>
    public const string ActivitySourceName = "Twyla.Streams.Events";

    private static readonly object[] SmallCounts = [.. Enumerable.Range(0, 17).Select(n => (object)n)];

    internal static ActivitySource Source { get; } = new(ActivitySourceName);

    /// <summary>A producer span for the emit of <paramref name="metadata"/>, or <c>null</c> when nobody listens.</summary>
    internal static Activity? StartPublish(EventMetadata metadata, MessagingTarget target, int bodySize)
    {
        if (!Source.HasListeners())
        {
            return null; // no span, no name, no attribute per emit when nobody listens
        }

        var activity = Source.StartActivity(SpanNames.Publish(metadata.Name), ActivityKind.Producer);
        if (activity is { IsAllDataRequested: true })
        {
            // AddTag, not SetTag: a new span has none of these yet, so there is no search through the tags added so far.
            foreach (var tag in target.PublishTags)
            {
                activity.AddTag(tag.Key, tag.Value);
            }

            AddEventTags(activity, metadata);
            activity.AddTag(TelemetryTags.BodySize, bodySize);
        }

        return activity;
    }

    /// <summary>
    /// Ends a publish span once the broker answered: <c>twyla.outcome</c>, and <c>error.type</c> with an Error status
    /// when the emit was not confirmed. <see cref="Activity.Current"/> stays what it is unless it was this span.
    /// </summary>
    internal static void EndPublish(Activity? activity, string outcome, string? message)
    {
        if (activity is null)
        {
            return;
        }

        activity.AddTag(TelemetryTags.Outcome, outcome);
        if (outcome != EmitTelemetry.Confirmed)
        {
            activity.AddTag(TelemetryTags.ErrorType, outcome);
            activity.SetStatus(ActivityStatusCode.Error, message);
        }

        var current = Activity.Current;
        activity.Dispose();
        if (current != activity)
        {
            Activity.Current = current; // stopping sets the span's predecessor as current, wherever it ends
        }
    }

    /// <summary>A consumer span for handling <paramref name="e"/>, a child of its <c>traceparent</c>; <c>null</c> when nobody listens.</summary>
    internal static Activity? StartProcess<T>(Event<T> e, ListenerTelemetry? listener)
    {
        var activity = StartConsumer(e.Metadata.Name, e.TraceParent, e.TraceState, listener, e.Metadata, e.DeliveryCount);
        if (activity is { IsAllDataRequested: true } && e.BodySize is { } bodySize)
        {
            activity.AddTag(TelemetryTags.BodySize, bodySize);
        }

        return activity;
    }

    /// <summary>
    /// A delivery that is not a valid event never reaches a handler: it gets a consumer span of its own, ended at
    /// once, that tells it was dead-lettered and why (<c>error.type</c> the reason class, a <c>dead_letter</c> event with
    /// the reason), a child of the event's <c>traceparent</c> when it had one. Nothing when nobody listens.
    /// </summary>
    internal static void InvalidDelivery(TransportDelivery delivery, ListenerTelemetry listener, string reasonClass, string reason)
    {
        var envelope = delivery.Envelope;
        using var activity = StartConsumer(
            envelope?.Metadata.Name ?? delivery.RoutingKey, envelope?.TraceParent, envelope?.TraceState, listener, envelope?.Metadata, delivery.DeliveryCount);
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        if (envelope is null)
        {
            activity.AddTag(TelemetryTags.RoutingKey, delivery.RoutingKey);
        }

        activity.SetTag(TelemetryTags.ErrorType, reasonClass);
        activity.SetStatus(ActivityStatusCode.Error, reason);
        Settled(activity, SettleKind.Drop, reason, reasonClass);
    }

    /// <summary>
    /// The <c>{name} process</c> consumer span of one delivery, a child of its <c>traceparent</c>, with the attributes
    /// every consumer span carries: the operation, the listener's, the event's (when it is one) and the delivery count.
    /// <c>null</c> when nobody listens.
    /// </summary>
    private static Activity? StartConsumer(
        string name, string? traceParent, string? traceState, ListenerTelemetry? listener, EventMetadata? metadata, int deliveryCount)
    {
        if (!Source.HasListeners())
        {
            return null;
        }

        ActivityContext.TryParse(traceParent, traceState, isRemote: true, out var parent);
        var activity = Source.StartActivity(SpanNames.Process(name), ActivityKind.Consumer, parent);
        if (activity is { IsAllDataRequested: true })
        {
            activity.AddTag(TelemetryTags.OperationType, "process");
            activity.AddTag(TelemetryTags.OperationName, "process");
            if (listener is not null)
            {
                foreach (var tag in listener.ListenerTags) // system, destination, group, queue: built once per listener
                {
                    activity.AddTag(tag.Key, tag.Value);
                }
            }

            if (metadata is not null)
            {
                AddEventTags(activity, metadata);
            }

            activity.AddTag(TelemetryTags.DeliveryCount, Boxed(deliveryCount));
        }

        return activity;
    }

    /// <summary>The handler failed: <c>error.type</c> is the exception's type, the status is Error.</summary>
    internal static void HandlerFailed(Activity? activity, Exception failure)
    {
        activity?.SetTag(TelemetryTags.ErrorType, failure.GetType().FullName);
        activity?.SetStatus(ActivityStatusCode.Error, failure.Message);
    }

    /// <summary>
    /// Tells on the consumer span how its event was settled: <c>twyla.settlement</c> (<c>ack</c>, <c>retry</c>,
    /// <c>dead_letter</c>) and, for a retry or a dead letter, an event of that name with the reason.
    /// </summary>
    internal static void Settled(Activity? activity, SettleKind kind, string reason, string? reasonClass)
    {
        if (activity is not { IsAllDataRequested: true })
        {
            return;
        }

        var settlement = ListenerTelemetry.SettlementName(kind);
        activity.AddTag(TelemetryTags.Settlement, settlement);
        if (kind == SettleKind.Ack)
        {
            return;
        }

        var tags = new ActivityTagsCollection { { "twyla.reason", reason } };
        if (kind == SettleKind.Drop)
        {
            activity.AddTag(TelemetryTags.DeadLetterReason, reasonClass ?? ListenerTelemetry.DroppedByHandler);
            tags.Add(TelemetryTags.DeadLetterReason, reasonClass ?? ListenerTelemetry.DroppedByHandler);
        }

        activity.AddEvent(new ActivityEvent(settlement, tags: tags));
    }

    /// <summary>The attributes of the event itself, on both of its spans: name (the routing key), id, correlation and causation.</summary>
    private static void AddEventTags(Activity activity, EventMetadata metadata)
    {
        activity.AddTag(TelemetryTags.RoutingKey, metadata.Name);
        activity.AddTag(TelemetryTags.MessageId, metadata.Id);
        activity.AddTag(TelemetryTags.ConversationId, metadata.CorrelationId);
        if (!metadata.IsChainStart)
        {
            activity.AddTag(TelemetryTags.CausationId, metadata.CausationId); // absent at the start of a chain
        }
    }

    /// <summary>A delivery count as an attribute value: the usual small ones boxed once.</summary>
    private static object Boxed(int count) => (uint)count < (uint)SmallCounts.Length ? SmallCounts[count] : count;
}
