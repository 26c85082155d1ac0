using Twyla.Streams.Contracts;
using Twyla.Streams.Events;

namespace Twyla.Streams.Transport;

/// <summary>
/// What the stages need from a broker. Implementations: <c>InMemory/</c> (the embedded default) and
/// <c>RabbitMq/</c>. Owned by <see cref="EventBus"/>, which disposes it.
/// </summary>
internal interface IEventTransport : IAsyncDisposable
{
    /// <summary>A short description for logs (never credentials), e.g. <c>in-memory</c> or <c>amqp://host:5672/vhost</c>.</summary>
    string Description { get; }

    /// <summary>
    /// The one confirm timeout: the longest an emit (stream or <c>EmitAsync</c>) and the transport's own publishes wait for
    /// a publisher and its confirm. RabbitMQ: <c>RabbitMqSettings.ConfirmTimeout</c>; in memory:
    /// <see cref="ConfirmTimeouts.Default"/> (its confirms come at once); <see cref="Timeout.InfiniteTimeSpan"/>: no limit.
    /// Sessions do not time publishes out themselves (a timer per publish): the callers do (the emit stage with one
    /// timer, <c>EmitAsync</c> with a token).
    /// </summary>
    TimeSpan ConfirmTimeout { get; }

    /// <summary>
    /// The messaging system and exchange that spans and metrics name (<c>messaging.system</c>, <c>messaging.destination.name</c>);
    /// the embedded broker's unless the transport says otherwise.
    /// </summary>
    Diagnostics.MessagingTarget Messaging => Diagnostics.MessagingTarget.InMemory;

    /// <summary>Declares exchange, queue, binding and dead-letter queue; idempotent.</summary>
    Task DeclareListenerAsync(ListenerTopology topology, CancellationToken cancellationToken);

    /// <summary>Declares the topology and starts a consumer with the given prefetch.</summary>
    Task<IConsumerSession> StartConsumerAsync(
        ListenerTopology topology, int prefetch, IDeliveryTarget target, CancellationToken cancellationToken);

    /// <summary>Opens a publisher (a channel with confirms on).</summary>
    Task<IPublisherSession> OpenPublisherAsync(CancellationToken cancellationToken);

    /// <summary>How many messages the dead-letter queue of <paramref name="topology"/> holds (0 when it does not exist).</summary>
    Task<long> CountDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken);

    /// <summary>Reads dead letters <paramref name="skip"/> to <paramref name="skip"/> + <paramref name="take"/> (oldest first) without removing them.</summary>
    Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(ListenerTopology topology, int skip, int take, CancellationToken cancellationToken);

    /// <summary>
    /// Moves every dead letter that <paramref name="filter"/> accepts back into the group's queue (a fresh delivery count,
    /// id, correlation and causation kept, its replay count + 1); the others stay, in order.
    /// </summary>
    /// <returns>How many were replayed.</returns>
    Task<int> ReplayDeadLettersAsync(ListenerTopology topology, Func<DeadLetter, bool> filter, CancellationToken cancellationToken);

    /// <summary>Deletes every dead letter of the group.</summary>
    /// <returns>How many were deleted.</returns>
    Task<long> PurgeDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken);

    /// <summary>Whether the transport can reach its broker now, and why not when it cannot.</summary>
    Task<BrokerHealth> CheckHealthAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Appends <paramref name="record"/> to the broker's contract log (durable, shared by every service on the broker);
    /// completes once the broker stored it.
    /// </summary>
    Task AppendContractAsync(ContractRecord record, CancellationToken cancellationToken);

    /// <summary>Reads the whole contract log as it is now, oldest first (no sync markers).</summary>
    Task<IReadOnlyList<ContractRecord>> ReadContractsAsync(CancellationToken cancellationToken);

    /// <summary>Whether the queue of <paramref name="topology"/> exists (a group whose queue was deleted is gone).</summary>
    Task<bool> GroupExistsAsync(ListenerTopology topology, CancellationToken cancellationToken);

    /// <summary>
    /// Raised when what this transport stored in the contract log may be gone (see <see cref="ContractLogLoss"/>). A log
    /// that cannot be lost (the in-memory one) never raises it.
    /// </summary>
    event Action<ContractLogLoss>? ContractLogLost
    {
        add { }
        remove { }
    }
}

/// <summary>The default of the one confirm timeout (<see cref="IEventTransport.ConfirmTimeout"/>).</summary>
internal static class ConfirmTimeouts
{
    /// <summary>30 s: long enough for a broker under load, short enough that a blocked broker fails emits.</summary>
    public static readonly TimeSpan Default = TimeSpan.FromSeconds(30);
}
