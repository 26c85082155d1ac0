namespace Twyla.Streams.Diagnostics;

/// <summary>
/// What a transport reports in the messaging attributes: its <c>messaging.system</c> (<c>rabbitmq</c>, or
/// <c>twyla_in_memory</c> for the embedded broker) and the exchange events are published to (<c>messaging.destination.name</c>).
/// The attributes every emit to it carries, on its span and on its metrics, are built once here.
/// </summary>
internal sealed class MessagingTarget
{
    private readonly KeyValuePair<string, object?>[] _publishTags;

    public MessagingTarget(string system, string destination)
    {
        System = system;
        Destination = destination;
        _publishTags =
        [
            new(TelemetryTags.MessagingSystem, system),
            new(TelemetryTags.OperationType, "send"),
            new(TelemetryTags.OperationName, "publish"),
            new(TelemetryTags.Destination, destination),
        ];
    }

    /// <summary>The in-memory transport's.</summary>
    public static MessagingTarget InMemory { get; } = new("twyla_in_memory", "twyla.events");

    /// <summary>The value of <c>messaging.system</c>.</summary>
    public string System { get; }

    /// <summary>The exchange: the value of <c>messaging.destination.name</c>.</summary>
    public string Destination { get; }

    /// <summary>The attributes of every emit to this target: system, operation type and name, destination.</summary>
    public ReadOnlySpan<KeyValuePair<string, object?>> PublishTags => _publishTags;
}
