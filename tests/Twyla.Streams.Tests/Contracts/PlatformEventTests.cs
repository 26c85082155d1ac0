using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Streams.Dsl;
using Twyla.Streams.Contracts;
using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Contracts;

/// <summary>The predefined platform payload on the in-memory bus: snake_case on the wire, text or structured content.</summary>
public sealed class PlatformEventTests : BusTestKit
{
    private const string Name = "conversation.message-received";

    [Fact]
    public async Task A_platform_event_should_travel_with_snake_case_names_and_arrive_equal()
    {
        await Bus.DeclareGroupAsync(Name, "typed", ListenSettings.Default);
        await Bus.DeclareGroupAsync(Name, "raw", ListenSettings.Default);
        var card = JsonSerializer.SerializeToElement(new { title = "Opening hours", buttons = new[] { "Today", "Tomorrow" } });
        var sent = new PlatformEvent("card", "acme", "support-bot", "webchat", "user-42", card);

        await Bus.EmitAsync(Name, sent);

        var wire = await TakeOneAsync<JsonObject>("raw");
        Assert.Equal(["message_type", "tenant", "bot_slug", "channel", "channel_user_id", "content"], wire.Select(m => m.Key));
        Assert.Equal("support-bot", wire["bot_slug"]!.GetValue<string>());
        Assert.Equal("Tomorrow", wire["content"]!["buttons"]![1]!.GetValue<string>());
        var received = await TakeOneAsync<PlatformEvent>("typed");
        Assert.Equal(sent, received);
        Assert.Null(received.Text);
    }

    [Fact]
    public async Task A_text_event_should_carry_its_text_as_a_json_string_and_an_event_without_content_should_leave_it_out()
    {
        await Bus.DeclareGroupAsync(Name, "raw", ListenSettings.Default);
        await Bus.DeclareGroupAsync(Name, "typed", ListenSettings.Default);

        await Bus.EmitAsync(Name, PlatformEvent.OfText("text", "acme", "support-bot", "whatsapp", "+4712345678", "When do you open?"));
        await Bus.EmitAsync(Name, new PlatformEvent("conversation_started", "acme", "support-bot", "whatsapp", "+4712345678"));

        var wire = await TakeAsync<JsonObject>("raw", 2);
        Assert.Equal(JsonValueKind.String, wire[0]["content"]!.GetValueKind());
        Assert.False(wire[1].ContainsKey("content"));
        var typed = await TakeAsync<PlatformEvent>("typed", 2);
        Assert.Equal("When do you open?", typed[0].Text);
        Assert.Null(typed[1].Content);
    }

    [Fact]
    public async Task A_payload_without_the_channel_user_id_should_be_dead_lettered_by_a_platform_event_listener()
    {
        await Bus.DeclareGroupAsync(Name, "strict", ListenSettings.Default);
        var incomplete = new JsonObject { ["message_type"] = "text", ["tenant"] = "acme", ["bot_slug"] = "support-bot", ["channel"] = "webchat" };
        await Bus.EmitAsync(Name, incomplete);
        await Bus.EmitAsync(Name, PlatformEvent.OfText("text", "acme", "support-bot", "webchat", "user-42", "hi"));

        var received = await TakeOneAsync<PlatformEvent>("strict");

        Assert.Equal("user-42", received.ChannelUserId); // the incomplete payload never reached the handler
        await AwaitConditionAsync(async () => await Bus.CountDeadLettersAsync(Name, "strict") == 1, TimeSpan.FromSeconds(10));
        var dead = Assert.Single(await Bus.PeekDeadLettersAsync(Name, "strict"));
        Assert.Contains("channel_user_id", dead.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void The_exported_schema_should_require_the_identifying_members_and_leave_content_optional()
    {
        var schema = ContractSchema.For<PlatformEvent>(EventBusSettings.DefaultJsonOptions);

        Assert.Equal(["message_type", "tenant", "bot_slug", "channel", "channel_user_id", "content"], schema["properties"]!.AsObject().Select(p => p.Key));
        Assert.Equal(["message_type", "tenant", "bot_slug", "channel", "channel_user_id"], schema["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("string", schema["properties"]!["channel_user_id"]!["type"]!.GetValue<string>());
    }

    [Fact]
    public void Events_should_be_equal_when_their_content_is_the_same_json()
    {
        var a = new PlatformEvent("card", "acme", "bot", "webchat", "u", JsonDocument.Parse("""{"title":"x"}""").RootElement);
        var b = new PlatformEvent("card", "acme", "bot", "webchat", "u", JsonDocument.Parse("""{ "title": "x" }""").RootElement);

        Assert.Equal(a, b);
        Assert.Equal(a.GetHashCode(), b.GetHashCode());
        Assert.NotEqual(a, b with { Content = JsonDocument.Parse("""{"title":"y"}""").RootElement });
        Assert.NotEqual(a, b with { Tenant = "other" });
    }

    private async Task<T> TakeOneAsync<T>(string group) => (await TakeAsync<T>(group, 1))[0];

    private async Task<List<T>> TakeAsync<T>(string group, int count)
    {
        var (control, payloads) = Bus.Listen<T>(Name, group)
            .Take(count)
            .SelectAsync(1, async e =>
            {
                await e.AckAsync();
                return e.Payload;
            })
            .ToMaterialized(Sink.Seq<T>(), Keep.Both)
            .Run(Materializer);
        var result = await payloads.WaitAsync(TimeSpan.FromSeconds(10));
        await control.Completion.WaitAsync(TimeSpan.FromSeconds(10));
        return [.. result];
    }
}
