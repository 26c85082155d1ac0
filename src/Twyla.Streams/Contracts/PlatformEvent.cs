using System.Text.Json;
using System.Text.Json.Serialization;

namespace Twyla.Streams.Contracts;

/// <summary>
/// The platform's common event payload, a predefined contract that services emit and listen to directly
/// (<c>bus.Listen&lt;PlatformEvent&gt;(…)</c>, <c>bus.EmitAsync(name, platformEvent)</c>). On the wire its members are
/// snake_case whatever the bus's naming policy: <c>message_type</c>, <c>tenant</c>, <c>bot_slug</c>, <c>channel</c>,
/// <c>channel_user_id</c> and <c>content</c>.
/// </summary>
/// <remarks>
/// The five identifying members are required strings: a payload without one of them is dead-lettered. The
/// <see cref="Content"/> is optional and is any JSON value, because a message may be text (a JSON string, see
/// <see cref="Text"/> and <see cref="OfText"/>) or structured (an object such as buttons, a card or an attachment):
/// a consumer switches on its <see cref="JsonElement.ValueKind"/> or deserializes it into a type of its own, so a new
/// kind of content never breaks this contract. Events that carry no content (a conversation started, a handover)
/// leave it out. Two events are equal when their members are, content compared by value.
/// </remarks>
public sealed record PlatformEvent
{
    /// <summary>Creates an event without content.</summary>
    /// <param name="messageType">What kind of message this is, for example <c>text</c> or <c>postback</c>.</param>
    /// <param name="tenant">The tenant (customer account) the bot belongs to.</param>
    /// <param name="botSlug">The bot's slug, unique within the tenant.</param>
    /// <param name="channel">The channel the conversation runs on, for example <c>webchat</c> or <c>whatsapp</c>.</param>
    /// <param name="channelUserId">The user's id on that channel.</param>
    [JsonConstructor]
    public PlatformEvent(string messageType, string tenant, string botSlug, string channel, string channelUserId)
    {
        ArgumentNullException.ThrowIfNull(messageType);
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(botSlug);
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(channelUserId);
        MessageType = messageType;
        Tenant = tenant;
        BotSlug = botSlug;
        Channel = channel;
        ChannelUserId = channelUserId;
    }

    /// <summary>Creates an event with content: text as a JSON string, structured content as an object.</summary>
    /// <param name="messageType">What kind of message this is, for example <c>text</c> or <c>postback</c>.</param>
    /// <param name="tenant">The tenant (customer account) the bot belongs to.</param>
    /// <param name="botSlug">The bot's slug, unique within the tenant.</param>
    /// <param name="channel">The channel the conversation runs on, for example <c>webchat</c> or <c>whatsapp</c>.</param>
    /// <param name="channelUserId">The user's id on that channel.</param>
    /// <param name="content">The content, for example <c>JsonSerializer.SerializeToElement(card)</c>.</param>
    public PlatformEvent(string messageType, string tenant, string botSlug, string channel, string channelUserId, JsonElement content)
        : this(messageType, tenant, botSlug, channel, channelUserId) => Content = content;

    /// <summary>What kind of message this is (<c>message_type</c>).</summary>
    [JsonPropertyName("message_type")]
    public string MessageType { get; init; }

    /// <summary>The tenant the bot belongs to (<c>tenant</c>).</summary>
    [JsonPropertyName("tenant")]
    public string Tenant { get; init; }

    /// <summary>The bot's slug (<c>bot_slug</c>).</summary>
    [JsonPropertyName("bot_slug")]
    public string BotSlug { get; init; }

    /// <summary>The channel (<c>channel</c>).</summary>
    [JsonPropertyName("channel")]
    public string Channel { get; init; }

    /// <summary>The user's id on the channel (<c>channel_user_id</c>).</summary>
    [JsonPropertyName("channel_user_id")]
    public string ChannelUserId { get; init; }

    /// <summary>The content (<c>content</c>): any JSON value, absent when the event carries none.</summary>
    [JsonPropertyName("content")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Content { get; init; }

    /// <summary>The content when it is text (a JSON string); null when it is absent or structured.</summary>
    [JsonIgnore]
    public string? Text => Content is { ValueKind: JsonValueKind.String } text ? text.GetString() : null;

    /// <summary>Creates a text message: the content is <paramref name="text"/> as a JSON string.</summary>
    /// <param name="messageType">What kind of message this is, for example <c>text</c>.</param>
    /// <param name="tenant">The tenant the bot belongs to.</param>
    /// <param name="botSlug">The bot's slug.</param>
    /// <param name="channel">The channel.</param>
    /// <param name="channelUserId">The user's id on the channel.</param>
    /// <param name="text">The text.</param>
    /// <returns>The event.</returns>
    public static PlatformEvent OfText(string messageType, string tenant, string botSlug, string channel, string channelUserId, string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return new PlatformEvent(messageType, tenant, botSlug, channel, channelUserId, JsonSerializer.SerializeToElement(text));
    }

    /// <summary>Equal when every member is, the content compared as JSON (<see cref="JsonElement.DeepEquals"/>).</summary>
    /// <param name="other">The other event.</param>
    /// <returns>True when equal.</returns>
    public bool Equals(PlatformEvent? other) =>
        other is not null
        && string.Equals(MessageType, other.MessageType, StringComparison.Ordinal)
        && string.Equals(Tenant, other.Tenant, StringComparison.Ordinal)
        && string.Equals(BotSlug, other.BotSlug, StringComparison.Ordinal)
        && string.Equals(Channel, other.Channel, StringComparison.Ordinal)
        && string.Equals(ChannelUserId, other.ChannelUserId, StringComparison.Ordinal)
        && (Content, other.Content) switch
        {
            (null, null) => true,
            ({ } a, { } b) => JsonElement.DeepEquals(a, b),
            _ => false,
        };

    /// <summary>A hash of the identifying members (content left out, so that equal events hash alike).</summary>
    /// <returns>The hash.</returns>
    public override int GetHashCode() => HashCode.Combine(MessageType, Tenant, BotSlug, Channel, ChannelUserId);
}
