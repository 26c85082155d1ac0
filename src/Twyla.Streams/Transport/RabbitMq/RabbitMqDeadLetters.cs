using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Twyla.Streams.Events;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// Reads and repairs a listener group's dead-letter queue <c>{queue}.dead-letter</c>: count, list a page, replay
/// (through the group's router back into its queue) and purge. Each operation opens a channel of its own and
/// closes it; what it read and did not take goes back to the queue in its order.
/// </summary>
internal sealed class RabbitMqDeadLetters(RabbitMqTransport transport)
{
    public async Task<long> CountAsync(ListenerTopology topology, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topology);
        return await OnChannelAsync(
            confirms: false,
            async channel => (long)(await channel.QueueDeclarePassiveAsync(topology.DeadLetterQueueName, cancellationToken).ConfigureAwait(false)).MessageCount,
            0L,
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<long> PurgeAsync(ListenerTopology topology, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topology);
        return await OnChannelAsync(
            confirms: false,
            async channel => (long)await channel.QueuePurgeAsync(topology.DeadLetterQueueName, cancellationToken).ConfigureAwait(false),
            0L,
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DeadLetter>> ListAsync(ListenerTopology topology, int skip, int take, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topology);
        if (take <= 0)
        {
            return [];
        }

        return await OnChannelAsync<IReadOnlyList<DeadLetter>>(
            confirms: false,
            async channel =>
            {
                // basic.get without ack up to the end of the page; closing the channel puts every one back in its place.
                var page = new List<DeadLetter>();
                for (var index = 0; index < skip + take; index++)
                {
                    var got = await channel.BasicGetAsync(topology.DeadLetterQueueName, autoAck: false, cancellationToken).ConfigureAwait(false);
                    if (got is null)
                    {
                        break;
                    }

                    if (index >= skip)
                    {
                        page.Add(ToDeadLetter(topology, got));
                    }
                }

                return page;
            },
            [],
            cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> ReplayAsync(ListenerTopology topology, Func<DeadLetter, bool> filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(filter);
        return await OnChannelAsync(
            confirms: true,
            async channel =>
            {
                // Only the letters there when the call starts: one that is replayed and fails again comes back to the
                // end of the queue while this runs, and taking it again would loop for as long as it keeps failing.
                var present = (await channel.QueueDeclarePassiveAsync(topology.DeadLetterQueueName, cancellationToken).ConfigureAwait(false)).MessageCount;
                var replayed = 0;
                for (var taken = 0u; taken < present; taken++)
                {
                    if (await channel.BasicGetAsync(topology.DeadLetterQueueName, autoAck: false, cancellationToken).ConfigureAwait(false) is not { } got)
                    {
                        break;
                    }

                    var letter = ToDeadLetter(topology, got);
                    bool accepted;
                    try
                    {
                        accepted = filter(letter);
                    }
                    catch (Exception e)
                    {
                        throw new FilterFailedException(e); // the caller's own exception, not the broker's: passed through as it is
                    }

                    if (!accepted)
                    {
                        continue; // stays unacked until the channel closes: back in the queue, in its place
                    }

                    var props = RabbitMqTopology.CopyForRouter(got.BasicProperties, letter.RoutingKey);
                    foreach (var header in ForgottenOnReplay)
                    {
                        props.Headers!.Remove(header);
                    }

                    props.Headers![CloudEventsAmqpCodec.ReplayCountHeader] = (long)letter.ReplayCount + 1;
                    await RabbitMqTopology.PublishToRouterAsync(
                        channel, topology, ListenerTopology.RequeueKey, props, got.Body, "replay", transport.ConfirmTimeout, cancellationToken).ConfigureAwait(false);
                    await channel.BasicAckAsync(got.DeliveryTag, multiple: false, CancellationToken.None).ConfigureAwait(false); // replayed: settle
                    replayed++;
                }

                return replayed;
            },
            0,
            cancellationToken).ConfigureAwait(false);
    }

    /// <summary>What a replayed message no longer carries: it starts over as a first delivery.</summary>
    private static readonly string[] ForgottenOnReplay =
    [
        CloudEventsAmqpCodec.DropReasonHeader,
        CloudEventsAmqpCodec.DeliveryCountHeader,
        CloudEventsAmqpCodec.LastFailureHeader,
        CloudEventsAmqpCodec.DeadLetteredAtHeader,
        "x-death",
        RabbitMqTopology.FirstDeathExchangeHeader,
        "x-first-death-queue",
        "x-first-death-reason",
    ];

    /// <summary>Runs <paramref name="work"/> on a channel of its own; a dead-letter queue that does not exist yet counts as empty.</summary>
    private async Task<TResult> OnChannelAsync<TResult>(bool confirms, Func<IChannel, Task<TResult>> work, TResult none, CancellationToken cancellationToken)
    {
        // The publishing connection: a replay publishes, and an alarm must block it rather than the consumers' connection.
        var channel = await transport.OpenChannelAsync(ConnectionRole.Publish, confirms, cancellationToken).ConfigureAwait(false);
        try
        {
            return await work(channel).ConfigureAwait(false);
        }
        catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == Constants.NotFound)
        {
            return none; // no dead-letter queue yet: nothing was dead-lettered
        }
        finally
        {
            await RabbitMqTransport.CloseChannelAsync(channel).ConfigureAwait(false);
        }
    }

    private DeadLetter ToDeadLetter(ListenerTopology topology, BasicGetResult got)
    {
        var props = got.BasicProperties;
        var headers = props.Headers;
        var body = got.Body.Span;
        var routingKey = RabbitMqTopology.CopiedRoutingKey(topology, got.Exchange, headers)
            ?? FirstDeathRoutingKey(headers)
            ?? got.RoutingKey;
        var reason = CloudEventsAmqpCodec.HeaderString(headers, CloudEventsAmqpCodec.DropReasonHeader)
            ?? DeathReason(headers)
            ?? "unknown";
        var at = CloudEventsAmqpCodec.HeaderLong(headers, CloudEventsAmqpCodec.DeadLetteredAtHeader);
        var decoded = transport.Codec.Decode(routingKey, props, body.ToArray());
        var id = decoded.Envelope?.Metadata.Id
            ?? CloudEventsAmqpCodec.HeaderString(headers, CloudEventsAmqpCodec.HeaderPrefix + "id")
            ?? CloudEventsAmqpCodec.HeaderString(headers, CloudEventsAmqpCodec.HeaderPrefixColon + "id")
            ?? (string.IsNullOrEmpty(props.MessageId) ? null : props.MessageId);
        return new DeadLetter(
            id,
            reason,
            decoded.Envelope?.Metadata,
            DeadLetter.BodyText(body),
            routingKey,
            (int)Math.Clamp(CloudEventsAmqpCodec.HeaderLong(headers, CloudEventsAmqpCodec.DeliveryCountHeader) ?? 0, 0, int.MaxValue),
            at is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null,
            (int)Math.Clamp(CloudEventsAmqpCodec.HeaderLong(headers, CloudEventsAmqpCodec.ReplayCountHeader) ?? 0, 0, int.MaxValue));
    }

    private static string? FirstDeathRoutingKey(IDictionary<string, object?>? headers) =>
        FirstDeath(headers) is { } death && death.TryGetValue("routing-keys", out var keys) && keys is IList<object> list && list.Count > 0
            ? CloudEventsAmqpCodec.AsString(list[0])
            : null;

    private static string? DeathReason(IDictionary<string, object?>? headers) =>
        FirstDeath(headers) is { } death
            ? $"dead-lettered by the broker ({CloudEventsAmqpCodec.AsString(death.TryGetValue("reason", out var r) ? r : null)})"
            : null;

    private static IDictionary<string, object?>? FirstDeath(IDictionary<string, object?>? headers) =>
        headers is not null && headers.TryGetValue("x-death", out var deaths) && deaths is IList<object> list && list.Count > 0
            ? list[0] as IDictionary<string, object?>
            : null;

    /// <summary>Carries an exception of the caller's replay filter through the broker-failure guard, which rethrows the inner one.</summary>
    internal sealed class FilterFailedException(Exception inner) : Exception(inner.Message, inner);
}
