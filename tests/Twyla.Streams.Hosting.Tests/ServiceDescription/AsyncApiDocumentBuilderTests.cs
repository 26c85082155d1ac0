using System.Text.Json.Nodes;
using Twyla.Streams.Hosting.Description;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.ServiceDescription;

/// <summary>The document's ids and references when names meet: one channel per address, one message per type.</summary>
public sealed class AsyncApiDocumentBuilderTests
{
    public static class Other
    {
        public sealed record BookingCreated(string Id);
    }

    [Fact]
    public void A_service_listening_to_what_it_emits_should_share_the_channel_and_the_message()
    {
        var document = Build(
            [new ConsumedEvents("booking.created", "audit", typeof(BookingCreated))],
            [new EmittedEvents("booking.created", typeof(BookingCreated))]);

        var channel = Assert.Single(document["channels"]!.AsObject());
        var message = Assert.Single(channel.Value!["messages"]!.AsObject());
        var references = document["operations"]!.AsObject().Select(o => (string?)o.Value!["messages"]![0]!["$ref"]).ToList();
        Assert.Equal([$"#/channels/{channel.Key}/messages/{message.Key}", $"#/channels/{channel.Key}/messages/{message.Key}"], references);
    }

    [Fact]
    public void Two_payload_types_of_one_name_on_one_channel_should_get_two_messages()
    {
        var document = Build(
            [new ConsumedEvents("booking.created", "audit", typeof(BookingCreated)), new ConsumedEvents("booking.created", "billing", typeof(Other.BookingCreated))],
            []);

        var messages = Assert.Single(document["channels"]!.AsObject()).Value!["messages"]!.AsObject();
        Assert.Equal(2, messages.Count);
        Assert.Equal(
            [typeof(BookingCreated).FullName, typeof(Other.BookingCreated).FullName],
            messages.Select(m => (string?)m.Value!["title"]));
    }

    private static JsonObject Build(IReadOnlyList<ConsumedEvents> consumes, IReadOnlyList<EmittedEvents> emits) =>
        AsyncApiDocument.Build(new Twyla.Streams.Hosting.Description.ServiceDescription(
            "booking-service", "1.0.0", "twyla.events", consumes, emits, [], EventBusSettings.DefaultJsonOptions));
}
