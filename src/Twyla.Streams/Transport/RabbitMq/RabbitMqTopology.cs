using System.Text.RegularExpressions;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// Declares the events topology idempotently: the durable topic exchange, a listener's durable queue
/// <c>{pattern}.{group}</c> bound with the pattern and dead-lettering to the durable <c>{queue}.dead-letter</c>.
/// </summary>
internal static partial class RabbitMqTopology
{
    public const string QueueTypeArgument = "x-queue-type";
    public const string DeadLetterExchangeArgument = "x-dead-letter-exchange";
    public const string DeadLetterRoutingKeyArgument = "x-dead-letter-routing-key";

    /// <summary>The arguments the listener queue is declared with.</summary>
    public static Dictionary<string, object?> QueueArguments(ListenerTopology topology) => new(StringComparer.Ordinal)
    {
        [DeadLetterExchangeArgument] = string.Empty,
        [DeadLetterRoutingKeyArgument] = topology.DeadLetterQueueName,
        [QueueTypeArgument] = topology.QueueType.XQueueType(),
    };

    /// <summary>The arguments the dead-letter queue is declared with.</summary>
    public static Dictionary<string, object?> DeadLetterQueueArguments(ListenerTopology topology) => new(StringComparer.Ordinal)
    {
        [QueueTypeArgument] = topology.QueueType.XQueueType(),
    };

    public static Task DeclareExchangeAsync(IChannel channel, string exchange, CancellationToken cancellationToken) =>
        Guard(
            () => channel.ExchangeDeclareAsync(exchange, ExchangeType.Topic, durable: true, autoDelete: false, arguments: null, cancellationToken: cancellationToken),
            "exchange",
            exchange,
            new Dictionary<string, object?> { ["type"] = ExchangeType.Topic, ["durable"] = true });

    /// <summary>
    /// Declares exchange, dead-letter queue, listener queue and binding on <paramref name="channel"/>.
    /// A conflicting declaration fails with <see cref="TopologyConflictException"/>; the broker closes the channel then.
    /// </summary>
    public static async Task DeclareListenerAsync(
        IChannel channel, string exchange, ListenerTopology topology, CancellationToken cancellationToken)
    {
        await DeclareExchangeAsync(channel, exchange, cancellationToken).ConfigureAwait(false);
        // The listener queue first, so a conflict names it rather than its dead-letter queue.
        var args = QueueArguments(topology);
        await Guard(
            () => channel.QueueDeclareAsync(topology.QueueName, durable: true, exclusive: false, autoDelete: false, arguments: args, cancellationToken: cancellationToken),
            "queue",
            topology.QueueName,
            WithDurable(args)).ConfigureAwait(false);
        var dlqArgs = DeadLetterQueueArguments(topology);
        await Guard(
            () => channel.QueueDeclareAsync(topology.DeadLetterQueueName, durable: true, exclusive: false, autoDelete: false, arguments: dlqArgs, cancellationToken: cancellationToken),
            "queue",
            topology.DeadLetterQueueName,
            WithDurable(dlqArgs)).ConfigureAwait(false);
        await channel.QueueBindAsync(topology.QueueName, exchange, topology.Pattern, arguments: null, cancellationToken: cancellationToken)
            .ConfigureAwait(false);
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
