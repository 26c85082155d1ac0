using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Twyla.Streams.Diagnostics;

/// <summary>
/// The names under which Twyla.Streams reports: one <see cref="System.Diagnostics.Metrics.Meter"/> for the assembly
/// (<see cref="MeterName"/>) and the <see cref="ActivitySource"/>s of events and RPC calls. Register them with
/// OpenTelemetry (Twyla.Streams.Hosting's <c>AddTwylaInstrumentation</c> does) to export them; nothing is measured
/// while nobody listens. Tags are low-cardinality: event names, groups, procedures and outcome classes, never ids.
/// </summary>
public static class TwylaTelemetry
{
    /// <summary>The name of the library's <see cref="System.Diagnostics.Metrics.Meter"/>.</summary>
    public const string MeterName = "Twyla.Streams";

    /// <summary>Counter of events emitted, by event name and outcome (OpenTelemetry messaging conventions).</summary>
    public const string SentMessages = "messaging.client.sent.messages";

    /// <summary>Histogram of the time from an emit to the broker's answer (confirm, nack or timeout), in seconds.</summary>
    public const string OperationDuration = "messaging.client.operation.duration";

    /// <summary>Counter of events delivered to a listener, valid or not.</summary>
    public const string ConsumedMessages = "messaging.client.consumed.messages";

    /// <summary>Histogram of handler durations under ack on completion, in seconds.</summary>
    public const string ProcessDuration = "messaging.process.duration";

    /// <summary>Counter of settlements by kind (<c>ack</c>, <c>retry</c>, <c>dead_letter</c>) and dead-letter reason class.</summary>
    public const string SettledMessages = "twyla.messaging.settled.messages";

    /// <summary>Histogram of an event's age when it is handed to the pipeline (now minus the event's time), in seconds.</summary>
    public const string EventAge = "twyla.messaging.event.age";

    /// <summary>Up-down counter of events handed to the pipeline and not settled yet, per listener.</summary>
    public const string InFlight = "twyla.messaging.in_flight";

    /// <summary>Histogram of RPC client call durations (all attempts), in seconds, by procedure and outcome.</summary>
    public const string RpcClientDuration = "rpc.client.call.duration";

    /// <summary>Counter of RPC attempts retried (idempotent calls after a transient failure).</summary>
    public const string RpcClientRetries = "twyla.rpc.client.retries";

    /// <summary>Counter of circuit-breaker state changes, by service and new state.</summary>
    public const string RpcCircuitStateChanges = "twyla.rpc.client.circuit.state_changes";

    /// <summary>The library's one meter.</summary>
    internal static Meter Meter { get; } = new(MeterName, typeof(TwylaTelemetry).Assembly.GetName().Version?.ToString(3));

    /// <summary>The bucket boundaries (seconds) the duration histograms advise: those of the OpenTelemetry semantic conventions.</summary>
    public static IReadOnlyList<double> DurationBuckets { get; } = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    /// <summary>A histogram in seconds with <see cref="DurationBuckets"/> as advice.</summary>
    internal static Histogram<double> Seconds(string name, string description, IReadOnlyList<double>? buckets = null) =>
        Meter.CreateHistogram(name, "s", description, tags: null, new InstrumentAdvice<double> { HistogramBucketBoundaries = buckets ?? DurationBuckets });

    /// <summary>Seconds since <paramref name="startTimestamp"/> (a <see cref="Stopwatch.GetTimestamp"/>).</summary>
    internal static double ElapsedSeconds(long startTimestamp) => Stopwatch.GetElapsedTime(startTimestamp).TotalSeconds;
}

/// <summary>The attribute names the library uses (OpenTelemetry semantic conventions where they define one).</summary>
internal static class TelemetryTags
{
    public const string MessagingSystem = "messaging.system";
    public const string OperationType = "messaging.operation.type";
    public const string OperationName = "messaging.operation.name";
    public const string Destination = "messaging.destination.name";
    public const string RoutingKey = "messaging.rabbitmq.destination.routing_key";
    public const string ConsumerGroup = "messaging.consumer.group.name";
    public const string Subscription = "messaging.destination.subscription.name";
    public const string MessageId = "messaging.message.id";
    public const string ConversationId = "messaging.message.conversation_id";
    public const string BodySize = "messaging.message.body.size";
    public const string ErrorType = "error.type";
    public const string Outcome = "twyla.outcome";
    public const string Settlement = "twyla.settlement";
    public const string DeadLetterReason = "twyla.dead_letter.reason";
    public const string DeliveryCount = "twyla.delivery_count";
    public const string CausationId = "twyla.causation_id";
    public const string RpcSystem = "rpc.system";
    public const string RpcService = "rpc.service";
    public const string RpcMethod = "rpc.method";
    public const string CircuitState = "twyla.circuit.state";
    public const string ServerAddress = "server.address";
    public const string ServerPort = "server.port";
    public const string CorrelationId = "twyla.correlation_id";
}
