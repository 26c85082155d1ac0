using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Twyla.Streams.Contracts;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Hosting.Description;

/// <summary>A listener the service runs: what it consumes.</summary>
internal sealed record ConsumedEvents(string Pattern, string Group, Type PayloadType);

/// <summary>An event the service declared it emits (<see cref="TwylaServiceDescriptionExtensions.AddTwylaEmits{T}"/>).</summary>
internal sealed record EmittedEvents(string EventName, Type PayloadType);

/// <summary>A procedure the service serves over HTTP (described in full by the OpenAPI document).</summary>
internal sealed record ServedProcedure(string Procedure, string Path);

/// <summary>Everything the AsyncAPI document describes.</summary>
internal sealed record ServiceDescription(
    string ServiceName,
    string Version,
    string Exchange,
    IReadOnlyList<ConsumedEvents> Consumes,
    IReadOnlyList<EmittedEvents> Emits,
    IReadOnlyList<ServedProcedure> Serves,
    JsonSerializerOptions JsonOptions);

/// <summary>
/// Builds the service's AsyncAPI 3.0 document: a channel per event name or pattern on the events exchange, a message
/// per payload contract on it (the CloudEvents attributes as headers, the payload's <see cref="ContractSchema"/>),
/// a <c>receive</c> operation per listener (its group in <c>x-twyla-group</c>), a <c>send</c> operation per declared
/// emit, and the served procedures in <c>x-twyla-procedures</c> (their schemas are in the OpenAPI document).
/// </summary>
internal static class AsyncApiDocument
{
    public const string DefaultPath = "/asyncapi.json";

    /// <summary>Where ASP.NET Core serves the OpenAPI document by default (<c>app.MapOpenApi()</c>).</summary>
    public const string OpenApiPath = "/openapi/v1.json";

    public static JsonObject Build(ServiceDescription service)
    {
        ArgumentNullException.ThrowIfNull(service);
        var channels = new JsonObject();
        var operations = new JsonObject();
        var channelIds = new Dictionary<string, string>(StringComparer.Ordinal);
        var operationIds = new HashSet<string>(StringComparer.Ordinal);

        foreach (var consumed in service.Consumes)
        {
            var (channelId, messageId) = AddMessage(service, channels, channelIds, consumed.Pattern, consumed.PayloadType);
            operations[Unique(operationIds, "receive_" + Id(consumed.Pattern) + "_" + Id(consumed.Group))] = new JsonObject
            {
                ["action"] = "receive",
                ["channel"] = Ref("#/channels/" + channelId),
                ["summary"] = $"Listener group '{consumed.Group}' consumes {consumed.Pattern}.",
                ["description"] = $"The group '{consumed.Group}' gets each event routed with '{consumed.Pattern}' once (shared by its instances); invalid events are dead-lettered.",
                ["messages"] = new JsonArray(Ref($"#/channels/{channelId}/messages/{messageId}")),
                ["x-twyla-group"] = consumed.Group,
            };
        }

        foreach (var emitted in service.Emits)
        {
            var (channelId, messageId) = AddMessage(service, channels, channelIds, emitted.EventName, emitted.PayloadType);
            operations[Unique(operationIds, "send_" + Id(emitted.EventName) + "_" + Id(TypeName(emitted.PayloadType)))] = new JsonObject
            {
                ["action"] = "send",
                ["channel"] = Ref("#/channels/" + channelId),
                ["summary"] = $"{service.ServiceName} emits {emitted.EventName}.",
                ["messages"] = new JsonArray(Ref($"#/channels/{channelId}/messages/{messageId}")),
            };
        }

        var procedures = new JsonArray();
        foreach (var served in service.Serves)
        {
            procedures.Add(new JsonObject
            {
                ["name"] = served.Procedure,
                ["method"] = "POST",
                ["path"] = served.Path,
                ["openapi"] = OpenApiPath + "#/paths/" + served.Path.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal),
            });
        }

        var document = new JsonObject
        {
            ["asyncapi"] = "3.0.0",
            ["info"] = new JsonObject
            {
                ["title"] = service.ServiceName,
                ["version"] = service.Version,
                ["description"] = $"The events {service.ServiceName} consumes and emits on the exchange '{service.Exchange}' (CloudEvents over AMQP, binary mode), and the procedures it serves over HTTP (see x-twyla-procedures and the OpenAPI document).",
            },
            ["defaultContentType"] = "application/json",
            ["channels"] = channels,
            ["operations"] = operations,
            ["x-twyla-procedures"] = procedures,
        };
        return document;
    }

    /// <summary>Adds (or finds) the channel of <paramref name="address"/> and the message of the payload type on it.</summary>
    private static (string ChannelId, string MessageId) AddMessage(
        ServiceDescription service, JsonObject channels, Dictionary<string, string> channelIds, string address, Type payloadType)
    {
        if (!channelIds.TryGetValue(address, out var channelId))
        {
            channelId = Unique([.. channelIds.Values], Id(address));
            channelIds[address] = channelId;
            channels[channelId] = new JsonObject
            {
                ["address"] = address,
                ["description"] = $"Events routed with '{address}' on the exchange '{service.Exchange}'.",
                ["messages"] = new JsonObject(),
            };
        }

        var messages = channels[channelId]!["messages"]!.AsObject();
        var title = payloadType.FullName ?? payloadType.Name;
        var existing = messages.FirstOrDefault(m => (string?)m.Value?["title"] == title).Key;
        if (existing is not null)
        {
            return (channelId, existing);
        }

        var messageId = Unique([.. messages.Select(m => m.Key)], Id(TypeName(payloadType))); // two types of one name stay apart
        messages[messageId] = new JsonObject
        {
            ["name"] = TypeName(payloadType),
            ["title"] = title,
            ["contentType"] = "application/json",
            ["headers"] = CloudEventsHeaderSchema(),
            ["payload"] = ContractSchema.For(payloadType, service.JsonOptions),
        };
        return (channelId, messageId);
    }

    /// <summary>The CloudEvents attributes the bus writes as AMQP headers (binary mode), as a JSON Schema.</summary>
    private static JsonObject CloudEventsHeaderSchema()
    {
        static JsonObject Text(string description) => new() { ["type"] = "string", ["description"] = description };
        return new JsonObject
        {
            ["type"] = "object",
            ["properties"] = new JsonObject
            {
                [CloudEventsHeaders.SpecVersion] = new JsonObject { ["type"] = "string", ["const"] = "1.0", ["description"] = "CloudEvents spec version." },
                [CloudEventsHeaders.Id] = Text("Unique per event (UUID v7)."),
                [CloudEventsHeaders.Type] = Text("The event name, equal to the routing key."),
                [CloudEventsHeaders.Source] = Text("The emitting service's name."),
                [CloudEventsHeaders.Time] = new JsonObject { ["type"] = "string", ["format"] = "date-time", ["description"] = "UTC time of the emit." },
                [CloudEventsHeaders.CorrelationId] = Text("The id of the first event of the chain; absent at a chain start, where it is the event's own id."),
                [CloudEventsHeaders.CausationId] = Text("The id of the event that caused this one; absent at a chain start."),
                [CloudEventsHeaders.DataVersion] = new JsonObject { ["type"] = "string", ["pattern"] = "^[1-9][0-9]*$", ["description"] = "The contract version; absent when it is 1." },
                [CloudEventsHeaders.TraceParent] = Text("W3C trace context; only when the emit was part of a trace."),
                [CloudEventsHeaders.TraceState] = Text("W3C trace state; only when the trace has one."),
            },
            ["required"] = new JsonArray(CloudEventsHeaders.SpecVersion, CloudEventsHeaders.Id, CloudEventsHeaders.Type, CloudEventsHeaders.Source),
        };
    }

    private static JsonObject Ref(string pointer) => new() { ["$ref"] = pointer };

    private static string TypeName(Type type) => type.IsGenericType ? type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)] + "_" + string.Join("_", type.GetGenericArguments().Select(TypeName)) : type.Name;

    /// <summary>An id AsyncAPI accepts as a key (<c>^[A-Za-z0-9_\-]+$</c>), readable from the name.</summary>
    private static string Id(string name)
    {
        var id = new StringBuilder(name.Length);
        foreach (var c in name)
        {
            id.Append(c switch
            {
                '.' => "_",
                '*' => "star",
                '#' => "hash",
                _ when char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_' => c.ToString(),
                _ => "_",
            });
        }

        return id.ToString();
    }

    private static string Unique(ICollection<string> taken, string id)
    {
        var candidate = id;
        for (var n = 2; taken.Contains(candidate); n++)
        {
            candidate = id + "_" + n.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        taken.Add(candidate);
        return candidate;
    }
}
