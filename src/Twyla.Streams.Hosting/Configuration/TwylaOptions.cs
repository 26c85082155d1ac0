using Twyla.Streams.Transport;

namespace Twyla.Streams.Hosting;

/// <summary>
/// The configuration of a Twyla service's event bus and listeners, bound from the configuration section
/// <c>Twyla</c> (so also from environment variables such as <c>Twyla__Amqp__Uri</c>). Every property is optional:
/// <c>null</c> keeps the default. Listener defaults (prefetch, deliveries, queue type, drain timeout, parallelism,
/// backoff) apply to every listener that does not set its own in <see cref="TwylaListenerOptions"/>.
/// </summary>
/// <remarks>
/// With no <see cref="Transport"/> set, the bus uses RabbitMQ when any AMQP setting is present and the in-memory
/// transport otherwise (and logs that it does). Invalid values fail the host's start with a message naming the key
/// and the accepted values.
/// </remarks>
public sealed class TwylaOptions
{
    /// <summary>The configuration section bound to these options.</summary>
    public const string SectionName = "Twyla";

    /// <summary>The transport: <c>InMemory</c> or <c>RabbitMq</c> (<c>Twyla:Transport</c>).</summary>
    public TwylaTransport? Transport { get; set; }

    /// <summary>The broker connection (<c>Twyla:Amqp</c>).</summary>
    public TwylaAmqpOptions Amqp { get; set; } = new();

    /// <summary>The events exchange on RabbitMQ (<c>Twyla:Exchange</c>; default <c>twyla.events</c>).</summary>
    public string? Exchange { get; set; }

    /// <summary>The service's name, written as the source of every event (<c>Twyla:ServiceName</c>; default the application name).</summary>
    public string? ServiceName { get; set; }

    /// <summary>Default prefetch of a listener, 1 to 65,535 (<c>Twyla:Prefetch</c>; default 100).</summary>
    public int? Prefetch { get; set; }

    /// <summary>Default deliveries of an event to a failing handler before it is dead-lettered, 1 to 1,000 (<c>Twyla:MaxDeliveries</c>; default 5).</summary>
    public int? MaxDeliveries { get; set; }

    /// <summary>Default number of events a listener's handler works on at once, 1 to 10,000 (<c>Twyla:Parallelism</c>; default 1).</summary>
    public int? Parallelism { get; set; }

    /// <summary>The type of the listener groups' queues: <c>Classic</c> or <c>Quorum</c> (<c>Twyla:QueueType</c>; default classic).</summary>
    public QueueType? QueueType { get; set; }

    /// <summary>
    /// How long a listener waits at shutdown for its in-flight events to finish and be acked (<c>Twyla:DrainTimeout</c>,
    /// a time span <c>00:00:20</c> or a number of seconds; default 20 s). Keep it below the host's shutdown timeout.
    /// </summary>
    public TimeSpan? DrainTimeout { get; set; }

    /// <summary>
    /// How long a failed event waits before it is delivered again, after its first, second, … delivery; the last delay
    /// repeats (<c>Twyla:RetryDelays</c>, durations separated by commas, e.g. <c>1,5,30</c> seconds or
    /// <c>00:00:01,00:00:05</c>, or a JSON array; default 1 s, 5 s, 30 s). See <see cref="Events.ListenSettings.RetryDelays"/>.
    /// </summary>
#pragma warning disable CA1819 // an array binds from configuration and reads naturally in code
    public TimeSpan[]? RetryDelays { get; set; }
#pragma warning restore CA1819

    /// <summary>The first delay before a failed listener restarts (<c>Twyla:MinBackoff</c>; default 1 s).</summary>
    public TimeSpan? MinBackoff { get; set; }

    /// <summary>What could not be read from configuration (unknown keys, values that do not parse), for the validator.</summary>
    internal List<string> BindingErrors { get; } = [];

    /// <summary>The longest delay between restarts of a failing listener (<c>Twyla:MaxBackoff</c>; default 30 s).</summary>
    public TimeSpan? MaxBackoff { get; set; }
}
