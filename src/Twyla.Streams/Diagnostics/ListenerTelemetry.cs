using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Diagnostics;

/// <summary>
/// The metrics of one listener materialization: deliveries consumed, events handed out (in flight until settled, and
/// their age), settlements by kind and dead-letter reason class, handler durations. The listen stage calls it where
/// it decodes and stops, <see cref="Event{T}"/> where it is settled, ack on completion around the handler; the
/// listener's tags (system, exchange, group, queue) are built once here.
/// </summary>
internal sealed class ListenerTelemetry
{
    /// <summary>Settlement tag value of an ack.</summary>
    public const string Ack = "ack";

    /// <summary>Settlement tag value of a reject (the event is retried).</summary>
    public const string Retry = "retry";

    /// <summary>Settlement tag value of a drop to the dead-letter queue.</summary>
    public const string DeadLetter = "dead_letter";

    /// <summary>Dead-letter reason class: the message could not be decoded as an event.</summary>
    public const string InvalidEvent = "invalid_event";

    /// <summary>Dead-letter reason class: the payload does not match the listener's contract (or is null).</summary>
    public const string InvalidPayload = "invalid_payload";

    /// <summary>Dead-letter reason class: the handler failed on the last delivery ack on completion allows.</summary>
    public const string HandlerFailed = "handler_failed";

    /// <summary>Dead-letter reason class: the handler (or the user's flow) dropped the event itself.</summary>
    public const string DroppedByHandler = "dropped_by_handler";

    private static readonly Counter<long> Consumed = TwylaTelemetry.Meter.CreateCounter<long>(
        TwylaTelemetry.ConsumedMessages, "{message}", "Events delivered to a listener, valid or not.");

    private static readonly Counter<long> SettledCount = TwylaTelemetry.Meter.CreateCounter<long>(
        TwylaTelemetry.SettledMessages, "{message}", "Settlements by kind (ack, retry, dead_letter) and dead-letter reason class.");

    private static readonly Histogram<double> Process = TwylaTelemetry.Seconds(
        TwylaTelemetry.ProcessDuration, "How long handlers run under ack on completion.");

    private static readonly Histogram<double> Age = TwylaTelemetry.Seconds(
        TwylaTelemetry.EventAge, "Age of an event (now minus its time) when the listener hands it to the pipeline.",
        [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]);

    // Per listener (system, exchange, group, queue): the events in flight of every materialization in the process.
    // Read when the metrics are collected, so counting an event costs two interlocked operations, no measurement.
    private static readonly ConcurrentDictionary<(object?, object?, object?, object?), InFlightCell> InFlightCells = new();

    // Created after InFlightCells: its callback reads them.
    private static readonly ObservableUpDownCounter<long> InFlightCount = TwylaTelemetry.Meter.CreateObservableUpDownCounter(
        TwylaTelemetry.InFlight, ObserveInFlight, "{message}", "Events handed to the pipeline and not settled yet, per listener.");

    private readonly KeyValuePair<string, object?>[] _listener;
    private readonly InFlightCell _cell;
    private int _inFlight;

    public ListenerTelemetry(MessagingTarget target, ListenerTopology topology, ILogger logger)
    {
        Logger = logger;
        _listener =
        [
            new(TelemetryTags.MessagingSystem, target.System),
            new(TelemetryTags.Destination, target.Destination),
            new(TelemetryTags.ConsumerGroup, topology.Group),
            new(TelemetryTags.Subscription, topology.QueueName),
        ];
        _cell = InFlightCells.GetOrAdd((_listener[0].Value, _listener[1].Value, _listener[2].Value, _listener[3].Value), static (_, tags) => new InFlightCell(tags), _listener);
    }

    /// <summary>The attributes of the listener: system, exchange, group and queue (on its span and its metrics).</summary>
    public ReadOnlySpan<KeyValuePair<string, object?>> ListenerTags => _listener;

    /// <summary>The logger of the bus's logger factory, whose scopes the user's loggers see.</summary>
    public ILogger Logger { get; }

    /// <summary>A valid event is handed to the pipeline: consumed, its age, one more in flight.</summary>
    public void HandedOut(EventMetadata metadata)
    {
        if (Interlocked.Increment(ref _inFlight) > 0)
        {
            Interlocked.Increment(ref _cell.Count);
        }

        if (Consumed.Enabled || Age.Enabled)
        {
            var tags = Tags(metadata.Name);
            Consumed.Add(1, tags);
            Age.Record(Math.Max(0, (DateTimeOffset.UtcNow - metadata.Time).TotalSeconds), tags);
        }
    }

    /// <summary>A delivery that is not a valid event: consumed, and dead-lettered as invalid (counted, and a span of its own).</summary>
    public void Invalid(TransportDelivery delivery, string reason)
    {
        var reasonClass = delivery.Envelope is null ? InvalidEvent : InvalidPayload;
        EventTracing.InvalidDelivery(delivery, this, reasonClass, reason);
        if (!Consumed.Enabled && !SettledCount.Enabled)
        {
            return;
        }

        var tags = Tags(delivery.Envelope?.Metadata.Name ?? delivery.RoutingKey);
        Consumed.Add(1, tags);
        tags.Add(TelemetryTags.Settlement, DeadLetter);
        tags.Add(TelemetryTags.DeadLetterReason, reasonClass);
        SettledCount.Add(1, tags);
    }

    /// <summary>An event handed out was settled (the first settlement only): counted, one fewer in flight.</summary>
    public void Settled(EventMetadata metadata, SettleKind kind, string? reasonClass)
    {
        // After Stopped the count is far below zero: settlements of events already given back are not subtracted again.
        if (Interlocked.Decrement(ref _inFlight) >= 0)
        {
            Interlocked.Decrement(ref _cell.Count);
        }

        if (!SettledCount.Enabled)
        {
            return;
        }

        var tags = Tags(metadata.Name);
        tags.Add(TelemetryTags.Settlement, SettlementName(kind));
        if (kind == SettleKind.Drop)
        {
            tags.Add(TelemetryTags.DeadLetterReason, reasonClass ?? DroppedByHandler);
        }

        SettledCount.Add(1, tags);
    }

    /// <summary>A handler finished after <paramref name="startTimestamp"/>; <paramref name="failure"/> when it failed.</summary>
    public void Processed(EventMetadata metadata, long startTimestamp, Exception? failure)
    {
        if (!Process.Enabled)
        {
            return;
        }

        var tags = Tags(metadata.Name);
        if (failure is not null)
        {
            tags.Add(TelemetryTags.ErrorType, failure.GetType().FullName);
        }

        Process.Record(TwylaTelemetry.ElapsedSeconds(startTimestamp), tags);
    }

    /// <summary>The listener stopped: what is still in flight goes back to the broker and no longer counts.</summary>
    public void Stopped()
    {
        var rest = Interlocked.Exchange(ref _inFlight, int.MinValue / 2);
        if (rest > 0)
        {
            Interlocked.Add(ref _cell.Count, -rest);
        }
    }

    /// <summary>The value of <see cref="TelemetryTags.Settlement"/> for <paramref name="kind"/>.</summary>
    public static string SettlementName(SettleKind kind) => kind switch
    {
        SettleKind.Ack => Ack,
        SettleKind.Reject => Retry,
        _ => DeadLetter,
    };

    /// <summary>What <see cref="TwylaTelemetry.InFlight"/> reports: one point per listener seen in the process (zero once stopped).</summary>
    private static IEnumerable<Measurement<long>> ObserveInFlight() =>
        InFlightCells.Values.Select(cell => new Measurement<long>(Interlocked.Read(ref cell.Count), cell.Tags)).ToList();

    /// <summary>The listener's tags and the event name (the routing key).</summary>
    private TagList Tags(string eventName)
    {
        var tags = new TagList(new ReadOnlySpan<KeyValuePair<string, object?>>(_listener));
        tags.Add(TelemetryTags.RoutingKey, eventName);
        return tags;
    }

    /// <summary>The events in flight of all materializations of one listener, and its tags.</summary>
    private sealed class InFlightCell(KeyValuePair<string, object?>[] tags)
    {
#pragma warning disable SA1401, CA1051 // a field: updated with Interlocked
        public long Count;
#pragma warning restore SA1401, CA1051

        public KeyValuePair<string, object?>[] Tags { get; } = tags;
    }
}
