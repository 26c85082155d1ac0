using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Twyla.Streams.Transport;
using Xunit;

namespace Twyla.Streams.Tests.Events;

/// <summary>The plain parts of the listen stage: the decoder, the ack inbox, the transport call queue.</summary>
public sealed class ListenPartsTests
{
    private static TransportDelivery Delivery(string? json, string? decodeError = null) => TestDeliveries.Create(1, json, decodeError);

    private readonly EventDecoder<BookingRequested> _decoder = new(EventBusSettings.DefaultJsonOptions);

    [Fact]
    public void Decoder_should_parse_a_valid_payload()
    {
        Assert.True(_decoder.TryDecode(Delivery("""{"pnr":"AB12","seats":2}"""), out var payload, out _));
        Assert.Equal(new BookingRequested("AB12", 2), payload);
    }

    [Theory]
    [InlineData("""{"pnr":"AB12"}""", "seats")]
    [InlineData("""{"pnr":"AB12","seats":"two"}""", "$.seats")]
    [InlineData("null", "null")]
    [InlineData("{", "BookingRequested")]
    [InlineData("""{"pnr":"AB12","seats":2,"pnr":"CD34"}""", "duplicate")]
    public void Decoder_should_give_the_dead_letter_reason_of_a_payload_that_does_not_fit(string json, string named)
    {
        Assert.False(_decoder.TryDecode(Delivery(json), out _, out var reason));
        Assert.Contains(named, reason, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void Decoder_should_pass_on_the_transport_decode_error()
    {
        Assert.False(_decoder.TryDecode(Delivery(null, "the body is not UTF-8"), out _, out var reason));
        Assert.Equal("the body is not UTF-8", reason);
    }

    [Fact]
    public void Inbox_should_ask_to_wake_the_stage_once_per_burst()
    {
        var inbox = new AckInbox();
        Assert.True(inbox.Record(1));
        Assert.False(inbox.Record(2));
        var drained = new List<ulong>();
        inbox.Drain(drained.Add);
        Assert.Equal([1UL, 2UL], drained);
        Assert.True(inbox.Record(3)); // a new burst wakes it again
    }

    [Fact]
    public void Call_queue_should_start_one_call_at_a_time_in_order()
    {
        var calls = new TransportCallQueue<string>();
        calls.Enqueue("a");
        calls.Enqueue("b");
        Assert.True(calls.TryStartNext(out var first));
        Assert.Equal("a", first);
        Assert.False(calls.TryStartNext(out _)); // "a" still runs
        calls.Completed();
        Assert.True(calls.TryStartNext(out var second));
        Assert.Equal("b", second);
        calls.Completed();
        Assert.True(calls.IsIdle);
    }
}
