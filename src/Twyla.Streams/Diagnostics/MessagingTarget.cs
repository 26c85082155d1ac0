namespace Twyla.Streams.Diagnostics;

/// <summary>
/// What a transport reports in the messaging attributes: its <c>messaging.system</c> (<c>rabbitmq</c>, or
/// <c>twyla_in_memory</c> for the embedded broker) and the exchange events are published to (<c>messaging.destination.name</c>).
/// </summary>
internal sealed record MessagingTarget(string System, string Destination)
{
    /// <summary>The in-memory transport's.</summary>
    public static MessagingTarget InMemory { get; } = new("twyla_in_memory", "twyla.events");
}
