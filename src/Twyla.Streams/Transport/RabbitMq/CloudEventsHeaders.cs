namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// The names of the AMQP headers that carry an event's CloudEvents attributes on RabbitMQ (the CloudEvents 1.0 AMQP
/// binding, binary mode, with the <c>cloudEvents_</c> prefix), and of its W3C trace context: for tools and services in
/// other languages that read or write the bus's messages, and for the service description.
/// </summary>
public static class CloudEventsHeaders
{
    /// <summary>The prefix of every CloudEvents attribute header.</summary>
    public const string Prefix = "cloudEvents_";

    /// <summary>The CloudEvents spec version, <c>1.0</c>.</summary>
    public const string SpecVersion = Prefix + "specversion";

    /// <summary>The event's id.</summary>
    public const string Id = Prefix + "id";

    /// <summary>The event name, equal to the routing key.</summary>
    public const string Type = Prefix + "type";

    /// <summary>The emitting service's name.</summary>
    public const string Source = Prefix + "source";

    /// <summary>The time of the emit (RFC 3339, UTC).</summary>
    public const string Time = Prefix + "time";

    /// <summary>The id of the first event of the chain.</summary>
    public const string CorrelationId = Prefix + "correlationid";

    /// <summary>The id of the event that caused this one; absent at a chain start.</summary>
    public const string CausationId = Prefix + "causationid";

    /// <summary>The contract version.</summary>
    public const string DataVersion = Prefix + "dataversion";

    /// <summary>The W3C trace context of the emit.</summary>
    public const string TraceParent = "traceparent";

    /// <summary>The W3C trace state of the emit.</summary>
    public const string TraceState = "tracestate";
}
