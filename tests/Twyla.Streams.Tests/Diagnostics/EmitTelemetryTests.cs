using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Emit;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Diagnostics;

/// <summary>
/// An emit the broker never confirms is counted as <c>timed_out</c> (by <c>EmitAsync</c> and by the emit stage), one the
/// caller cancels as <c>cancelled</c>: an operator tells a silent broker from an impatient caller.
/// </summary>
public sealed class EmitTelemetryTests : TestKit
{
    [Fact]
    public async Task Emits_never_confirmed_should_be_counted_as_timed_out_and_cancelled_ones_as_cancelled()
    {
        var name = "booking.silent" + Guid.NewGuid().ToString("N")[..8];
        var sent = new ConcurrentQueue<(string? Outcome, string? ErrorType)>();
        var durations = new ConcurrentQueue<string?>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == TwylaTelemetry.MeterName && instrument.Name is TwylaTelemetry.SentMessages or TwylaTelemetry.OperationDuration)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        void Record(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string? routingKey = null, outcome = null, errorType = null;
            foreach (var tag in tags)
            {
                routingKey = tag.Key == TelemetryTags.RoutingKey ? tag.Value as string : routingKey;
                outcome = tag.Key == TelemetryTags.Outcome ? tag.Value as string : outcome;
                errorType = tag.Key == TelemetryTags.ErrorType ? tag.Value as string : errorType;
            }

            if (routingKey == name)
            {
                if (instrument.Name == TwylaTelemetry.SentMessages)
                {
                    sent.Enqueue((outcome, errorType));
                }
                else
                {
                    durations.Enqueue(outcome);
                }
            }
        }

        listener.SetMeasurementEventCallback<long>((instrument, _, tags, _) => Record(instrument, tags));
        listener.SetMeasurementEventCallback<double>((instrument, _, tags, _) => Record(instrument, tags));
        listener.Start();

        var transport = new SilentBrokerTransport(TimeSpan.FromMilliseconds(300));
        await using var bus = new EventBus(transport, EventBusSettings.Create("booking-api"));
        await Assert.ThrowsAsync<EmitException>(() => bus.EmitAsync(name, new Probe(1)).WaitAsync(TimeSpan.FromSeconds(10)));
        var stage = Source.Single(new Probe(2)).RunWith(bus.Emit<Probe>(name), Sys.Materializer());
        await Assert.ThrowsAsync<EmitException>(() => stage.WaitAsync(TimeSpan.FromSeconds(10)));
        await using (var waitingBus = new EventBus(new SilentBrokerTransport(Timeout.InfiniteTimeSpan), EventBusSettings.Create("booking-api")))
        using (var cancel = new CancellationTokenSource())
        {
            var waiting = waitingBus.EmitAsync(name, new Probe(3), cancel.Token);
            await cancel.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting.WaitAsync(TimeSpan.FromSeconds(10)));
        }

        Assert.Equal(
            new (string?, string?)[] { ("timed_out", "timed_out"), ("timed_out", "timed_out"), ("cancelled", "cancelled") },
            sent.ToArray());
        Assert.Equal(new string?[] { "timed_out", "timed_out", "cancelled" }, durations.ToArray());
    }
}
