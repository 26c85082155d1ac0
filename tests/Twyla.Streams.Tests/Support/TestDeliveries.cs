using System.Text;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Tests.Support;

/// <summary>Deliveries as a consumer session hands them to the listen stage, for the tests of its plain parts.</summary>
internal static class TestDeliveries
{
    /// <summary>The session the deliveries' rejects and drops are recorded by.</summary>
    public static RecordingTransport.RecordingSession Session { get; } = new();

    /// <summary>Delivery <paramref name="tag"/> of an event with body <paramref name="json"/>; without a body, one that could not be decoded.</summary>
    public static TransportDelivery Create(ulong tag, string? json = "{}", string? decodeError = null, int deliveryCount = 1) => new(
        tag,
        json is null
            ? null
            : new EventEnvelope(new EventMetadata($"id-{tag}", "booking.requested", $"id-{tag}", "", DateTimeOffset.UtcNow, "test", 1), Encoding.UTF8.GetBytes(json), null, null),
        decodeError,
        deliveryCount > 1,
        deliveryCount,
        "booking.requested",
        null,
        Session.Handle(tag));
}
