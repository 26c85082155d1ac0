using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;
using Xunit;

namespace Twyla.Streams.Tests.Diagnostics;

/// <summary>
/// A listener's in-flight count (read when the metrics are collected) goes up when an event is handed out and down
/// when it is settled, and returns to zero when the listener stops with events unsettled; a settlement that comes after
/// the stop does not take it below zero, and a restarted listener counts in the same point.
/// </summary>
public sealed class ListenerTelemetryTests
{
    [Fact]
    public void In_flight_should_count_unsettled_events_and_return_to_zero_when_the_listener_stops()
    {
        var group = "tele-" + Guid.NewGuid().ToString("N")[..8];
        var measured = new ConcurrentQueue<(string Instrument, long Value, string? Settlement)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TwylaTelemetry.MeterName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string? ofGroup = null, settlement = null;
            foreach (var tag in tags)
            {
                ofGroup = tag.Key == TelemetryTags.ConsumerGroup ? tag.Value as string : ofGroup;
                settlement = tag.Key == TelemetryTags.Settlement ? tag.Value as string : settlement;
            }

            if (ofGroup == group)
            {
                measured.Enqueue((instrument.Name, value, settlement));
            }
        });
        listener.Start();

        long InFlight()
        {
            measured.Clear();
            listener.RecordObservableInstruments();
            return Assert.Single(measured, m => m.Instrument == TwylaTelemetry.InFlight).Value;
        }

        var telemetry = new ListenerTelemetry(MessagingTarget.InMemory, ListenerTopology.Create("booking.created", group, QueueType.Classic), NullLogger.Instance);
        var events = Enumerable.Range(1, 3).Select(n => Metadata(n)).ToList();
        events.ForEach(telemetry.HandedOut);
        Assert.Equal(3, measured.Count(m => m.Instrument == TwylaTelemetry.ConsumedMessages));
        Assert.Equal(3, InFlight());
        measured.Clear();

        telemetry.Settled(events[0], SettleKind.Ack, null);
        telemetry.Settled(events[1], SettleKind.Drop, ListenerTelemetry.HandlerFailed);
        var settled = measured.Where(m => m.Instrument == TwylaTelemetry.SettledMessages).Select(m => m.Settlement).ToList();
        Assert.Equal(1, InFlight());
        telemetry.Stopped();
        Assert.Equal(0, InFlight());
        measured.Clear();
        telemetry.Settled(events[2], SettleKind.Reject, null); // its listener is gone: the event went back already
        settled.AddRange(measured.Where(m => m.Instrument == TwylaTelemetry.SettledMessages).Select(m => m.Settlement));
        Assert.Equal(0, InFlight());

        // A second materialization of the same listener (a restart) counts in the same point.
        var restarted = new ListenerTelemetry(MessagingTarget.InMemory, ListenerTopology.Create("booking.created", group, QueueType.Classic), NullLogger.Instance);
        restarted.HandedOut(Metadata(4));
        Assert.Equal(1, InFlight());
        Assert.Equal(new[] { "ack", "dead_letter", "retry" }, settled);
    }

    private static EventMetadata Metadata(int n) =>
        new($"id-{n}", "booking.created", $"id-{n}", string.Empty, DateTimeOffset.UtcNow, "tests", 1);
}
