using System.Diagnostics;
using Twyla.Streams.Emit;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.Tests.Emit;

public sealed class EnvelopeFactoryTests
{
    private static readonly EventBusSettings Settings = EventBusSettings.Create("booking-api");

    [Fact]
    public void An_event_emitted_outside_a_trace_should_carry_no_trace_context_on_the_wire()
    {
        Activity.Current = null;

        var envelope = EnvelopeFactory.Create(OutgoingEvent.Create("booking.created", 1), Settings);
        var headers = CloudEventsAmqpCodec.Encode(envelope).Headers!;

        Assert.Equal((null, null), (envelope.TraceParent, envelope.TraceState));
        Assert.False(headers.ContainsKey("traceparent"));
        Assert.False(headers.ContainsKey("tracestate"));
    }

    [Fact]
    public void An_event_emitted_inside_a_trace_should_carry_its_context_on_the_wire()
    {
        using var activity = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();
        activity.TraceStateString = "vendor=abc";

        var envelope = EnvelopeFactory.Create(OutgoingEvent.Create("booking.created", 1), Settings);
        var headers = CloudEventsAmqpCodec.Encode(envelope).Headers!;

        Assert.Equal(activity.Id, CloudEventsAmqpCodec.HeaderString(headers, "traceparent"));
        Assert.Equal("vendor=abc", CloudEventsAmqpCodec.HeaderString(headers, "tracestate"));
    }
}
