using System.Text.RegularExpressions;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Twyla.Streams.Events;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// Declares the events topology idempotently: the durable topic exchange and what each listener group owns
/// (see <see cref="ListenerTopology"/>).
/// </summary>
internal static partial class RabbitMqTopology
{
    public const string QueueTypeArgument = "x-queue-type";
    public const string DeadLetterExchangeArgument = "x-dead-letter-exchange";
    public const string DeadLetterRoutingKeyArgument = "x-dead-letter-routing-key";

    public const string MessageTtlArgument = "x-message-ttl";
    public const string DeadLetterStrategyArgument = "x-dead-letter-strategy";
    public const string OverflowArgument = "x-overflow";

    /// <summary>The arguments the listener queue is declared with: what the broker itself dead-letters goes through the group's router.</summary>
    public static Dictionary<string, object?> QueueArguments(ListenerTopology topology) => new(StringComparer.Ordinal)
    {
        [DeadLetterExchangeArgument] = topology.RouterExchangeName,
        [DeadLetterRoutingKeyArgument] = ListenerTopology.DeadLetterKey,
        [QueueTypeArgument] = topology.QueueType.XQueueType(),
    };

    /// <summary>The arguments the dead-letter queue is declared with.</summary>
    public static Dictionary<string, object?> DeadLetterQueueArguments(ListenerTopology topology) => new(StringComparer.Ordinal)
    {
        [QueueTypeArgument] = topology.QueueType.XQueueType(),
    };

    /// <summary>
    /// The arguments of the retry queue of <paramref name="delay"/>: its messages expire after the delay and the broker
    /// dead-letters them through the router back into the group's queue. Quorum retry queues dead-letter at least once
    /// (which needs <c>x-overflow=reject-publish</c>), so a retry is not lost when a node fails.
    /// </summary>
    public static Dictionary<string, object?> RetryQueueArguments(ListenerTopology topology, TimeSpan delay)
    {
        var args = new Dictionary<string, object?>(StringComparer.Ordinal)
        {
            [QueueTypeArgument] = topology.QueueType.XQueueType(),
            [MessageTtlArgument] = (long)delay.TotalMilliseconds,
            [DeadLetterExchangeArgument] = topology.RouterExchangeName,
            [DeadLetterRoutingKeyArgument] = ListenerTopology.RequeueKey,
        };
        if (topology.QueueType == QueueType.Quorum)
        {
            args[DeadLetterStrategyArgument] = "at-least-once";
            args[OverflowArgument] = "reject-publish";
        }

        return args;
    }

    public static Task DeclareExchangeAsync(IChannel channel, string exchange, CancellationToken cancellationToken) =>
        Guard(
            () => channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false, arguments: null, cancellationToken: cancellationToken),
            "exchange",
            exchange,
            new Dictionary<string, object?> { ["type"] = ExchangeType.Topic, ["durable"] = true });

    /// <summary>
    /// Declares what a listener group owns (see <see cref="ListenerTopology"/>): the events exchange, the group's router
    /// exchange, its queue, dead-letter queue and retry queues, and their bindings. Every name but the events exchange
    /// starts with the group's queue name, so one permission regex covers a group; nothing goes through the default exchange.
    /// A conflicting declaration fails with <see cref="TopologyConflictException"/>; the broker closes the channel then.
    /// </summary>
    public static async Task DeclareListenerAsync(
        IChannel channel, string exchange, ListenerTopology topology, CancellationToken cancellationToken)
    {
        await DeclareExchangeAsync(channel, exchange, cancellationToken).ConfigureAwait(false);
        await Guard(
            () => channel.ExchangeDeclareAsync(topology.RouterExchangeName, ExchangeType.Direct, durable: true, autoDelete: false, arguments: null, cancellationToken: cancellationToken),
            "exchange",
            topology.RouterExchangeName,
            new Dictionary<string, object?> { ["type"] = ExchangeType.Direct, ["durable"] = true }).ConfigureAwait(false);

        // The listener queue first, so a conflict names it rather than its dead-letter queue.
        await DeclareQueueAsync(channel, topology.QueueName, QueueArguments(topology), cancellationToken).ConfigureAwait(false);
        await DeclareQueueAsync(channel, topology.DeadLetterQueueName, DeadLetterQueueArguments(topology), cancellationToken).ConfigureAwait(false);
        foreach (var delay in topology.Retry.DistinctDelays)
        {
            await DeclareQueueAsync(channel, topology.RetryQueueName(delay), RetryQueueArguments(topology, delay), cancellationToken).ConfigureAwait(false);
        }

        await channel.QueueBindAsync(topology.QueueName, exchange, topology.Pattern, arguments: null, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        await channel.QueueBindAsync(topology.QueueName, topology.RouterExchangeName, ListenerTopology.RequeueKey, arguments: null, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        await channel.QueueBindAsync(topology.DeadLetterQueueName, topology.RouterExchangeName, ListenerTopology.DeadLetterKey, arguments: null, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
        foreach (var delay in topology.Retry.DistinctDelays)
        {
            await channel.QueueBindAsync(topology.RetryQueueName(delay), topology.RouterExchangeName, RetrySchedule.Name(delay), arguments: null, cancellationToken: cancellationToken)
                .ConfigureAwait(false);
        }
    }

    private static Task DeclareQueueAsync(IChannel channel, string name, Dictionary<string, object?> args, CancellationToken cancellationToken) =>
        Guard(
            () => channel.QueueDeclareAsync(name, durable: true, exclusive: false, autoDelete: false, arguments: args, cancellationToken: cancellationToken),
            "queue",
            name,
            WithDurable(args));

    /// <summary>
    /// The routing key a copy of ours was first published with: a message that came through the group's router (a
    /// retry, a requeue, a dead letter, a replay) carries it in <c>x-twyla-routing-key</c>, set by
    /// <see cref="CopyForRouter"/>. For any other message <c>null</c>: the key it was delivered with counts, and a
    /// foreign message's own <c>x-twyla-routing-key</c> header is not trusted (only we publish to the router).
    /// </summary>
    /// <param name="topology">The group the message was delivered to.</param>
    /// <param name="exchange">The exchange the message was delivered from.</param>
    /// <param name="headers">The message's headers.</param>
    public static string? CopiedRoutingKey(ListenerTopology topology, string exchange, IDictionary<string, object?>? headers)
    {
        if (!string.Equals(exchange, topology.RouterExchangeName, StringComparison.Ordinal))
        {
            return null;
        }

        // The router is also the group queue's dead-letter exchange: a message the broker dead-lettered (its expiry,
        // a delivery limit) came through it without being a copy of ours. It is one only if it first died there too.
        if (CloudEventsAmqpCodec.HeaderString(headers, FirstDeathExchangeHeader) is { } firstDeath
            && !string.Equals(firstDeath, topology.RouterExchangeName, StringComparison.Ordinal))
        {
            return null;
        }

        return CloudEventsAmqpCodec.HeaderString(headers, CloudEventsAmqpCodec.RoutingKeyHeader);
    }

    /// <summary>The header in which the broker names the exchange a dead-lettered message was first published to.</summary>
    public const string FirstDeathExchangeHeader = "x-first-death-exchange";

    /// <summary>
    /// The properties of a copy of a delivered message that goes back through the router (a retry, a dead letter, a
    /// replay): the original's properties and headers, its original routing key in <c>x-twyla-routing-key</c>, and
    /// without the broker's own <c>x-delivery-count</c>: the copy is a new message, whose returns a quorum queue counts
    /// from zero, and the deliveries so far travel in <c>x-twyla-delivery-count</c>.
    /// </summary>
    public static BasicProperties CopyForRouter(IReadOnlyBasicProperties original, string routingKey)
    {
        var props = new BasicProperties(original)
        {
            Headers = original.Headers is { } h
                ? new Dictionary<string, object?>(h, StringComparer.Ordinal)
                : new Dictionary<string, object?>(StringComparer.Ordinal),
        };
        props.Headers[CloudEventsAmqpCodec.RoutingKeyHeader] = routingKey;
        props.Headers.Remove(CloudEventsAmqpCodec.QuorumDeliveryCountHeader);
        return props;
    }

    /// <summary>
    /// Publishes a copy through the group's router exchange with <paramref name="key"/> (<c>requeue</c>, <c>dead-letter</c>
    /// or <c>retry-{delay}</c>), mandatory, on a channel with confirm tracking: returns once the broker confirmed it, and
    /// gives up after <paramref name="confirmTimeout"/> (a broker that blocks the connection during an alarm never
    /// confirms; a listener's close and a replay must not wait for it forever).
    /// </summary>
    public static async Task PublishToRouterAsync(
        IChannel channel, ListenerTopology topology, string key, BasicProperties props, ReadOnlyMemory<byte> body, string what,
        TimeSpan confirmTimeout, CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(confirmTimeout);
        try
        {
            await channel.BasicPublishAsync(topology.RouterExchangeName, key, mandatory: true, props, body, bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException(
                $"The {what} copy to '{topology.RouterExchangeName}' ({key}) was not confirmed by the broker within {confirmTimeout}; the original stays unsettled and comes back.",
                e);
        }
        catch (PublishException e)
        {
            throw new InvalidOperationException(
                e.IsReturn
                    ? $"The {what} copy could not be published: nothing is bound for '{key}' on exchange '{topology.RouterExchangeName}' (was a queue of group '{topology.QueueName}' deleted?)."
                    : $"The {what} copy to '{topology.RouterExchangeName}' ({key}) was not confirmed by the broker (nack).",
                e);
        }
    }

    /// <summary>Turns the broker's PRECONDITION_FAILED for an inequivalent declaration into a clear error.</summary>
    public static TopologyConflictException? Conflict(
        OperationInterruptedException e, string kind, string name, IReadOnlyDictionary<string, object?> requested)
    {
        var reason = e.ShutdownReason;
        if (reason is null || reason.ReplyCode != Constants.PreconditionFailed)
        {
            return null;
        }

        var text = reason.ReplyText ?? string.Empty;
        var match = InequivalentArg().Match(text);
        var argument = match.Success ? match.Groups["arg"].Value : "(unknown)";
        var asked = requested.TryGetValue(argument, out var value)
            ? $"this declaration asks for {Describe(value)}"
            : "this declaration does not set it";
        return TopologyConflictException.Create(kind, name, argument, asked, $"the broker said: {text}", e);
    }

    private static Dictionary<string, object?> WithDurable(Dictionary<string, object?> args) =>
        new(args, StringComparer.Ordinal) { ["durable"] = true, ["exclusive"] = false, ["auto_delete"] = false };

    private static string Describe(object? value) => value switch
    {
        null => "no value",
        string s => $"'{s}'",
        bool b => b ? "true" : "false",
        _ => $"'{value}'",
    };

    private static async Task Guard(Func<Task> declare, string kind, string name, IReadOnlyDictionary<string, object?> requested)
    {
        try
        {
            await declare().ConfigureAwait(false);
        }
        catch (OperationInterruptedException e) when (Conflict(e, kind, name, requested) is { } conflict)
        {
            throw conflict;
        }
    }

    [GeneratedRegex("inequivalent arg '(?<arg>[^']+)'", RegexOptions.CultureInvariant)]
    private static partial Regex InequivalentArg();
}
