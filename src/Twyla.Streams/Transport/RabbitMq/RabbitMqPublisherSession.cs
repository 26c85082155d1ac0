using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Twyla.Streams.Emit;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// Publishes events on a channel with publisher confirms and confirm tracking, so each
/// <see cref="PublishAsync"/> completes when the broker confirmed that message.
/// </summary>
/// <remarks>
/// The client's confirm rate limiter is off (it starts delaying publishes at half its limit, see docs/design.md's
/// pitfalls); the callers bound the window (<see cref="EmitSettings.MaxInFlight"/>: the emit stage by backpressure,
/// <c>EmitAsync</c> through its shared publisher). <see cref="RabbitMqSettings.ConfirmTimeout"/> is enforced by
/// the callers (<see cref="RabbitMqTransport.ConfirmTimeout"/>): a linked token source and a timer per publish cost more CPU
/// than the rest of this method.
/// </remarks>
internal sealed class RabbitMqPublisherSession : IPublisherSession
{
    private readonly RabbitMqTransport _transport;
    private readonly IChannel _channel;
    private readonly string _exchange;
    private int _disposed;
    private int _refused;

    public RabbitMqPublisherSession(RabbitMqTransport transport, IChannel channel)
    {
        _transport = transport;
        _channel = channel;
        _exchange = transport.Settings.Exchange;
    }

    public bool IsOpen => Volatile.Read(ref _disposed) == 0 && Volatile.Read(ref _refused) == 0 && _channel.IsOpen;

    public async Task PublishAsync(EventEnvelope envelope, bool mandatory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        var m = envelope.Metadata;
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!_channel.IsOpen)
        {
            throw new EmitException(
                $"Event {m.Id} ({m.Name}) could not be emitted: the channel to {_transport.Description} is closed" +
                (_channel.CloseReason is { } r ? $" ({r.ReplyCode} {r.ReplyText})." : "."));
        }

        if (envelope.Data.Length > _transport.Settings.MaxBodySize)
        {
            // One limit for both ends: a listener of this bus would dead-let it (RabbitMqSettings.MaxBodySize).
            throw new EmitException(
                $"Event {m.Id} ({m.Name}) was not emitted: its payload of {envelope.Data.Length} bytes is larger than the " +
                $"{_transport.Settings.MaxBodySize} bytes a listener accepts (RabbitMqSettings.MaxBodySize).");
        }

        var props = CloudEventsAmqpCodec.Encode(envelope);
        try
        {
            await _channel.BasicPublishAsync(_exchange, m.Name, mandatory, props, envelope.Data, cancellationToken).ConfigureAwait(false);
        }
        catch (PublishReturnException e)
        {
            throw new EmitException(
                $"Event {m.Id} ({m.Name}) was returned by the broker: no queue bound for '{m.Name}' on exchange '{_exchange}' " +
                $"(mandatory emit; {e.ReplyCode} {e.ReplyText}).",
                e);
        }
        catch (PublishException e) when (e.IsReturn)
        {
            throw new EmitException(
                $"Event {m.Id} ({m.Name}) was returned by the broker: no queue bound for '{m.Name}' on exchange '{_exchange}' (mandatory emit).",
                e);
        }
        catch (PublishException e)
        {
            // A nack: the broker could not take the message (a full queue that rejects publishes, a quorum queue without
            // a leader). The channel stays open, but this session is not kept for later emits: a quorum queue's leader
            // is looked up per channel, and a channel that saw it fail was seen to keep failing after a new leader was
            // elected. A shared publisher (EmitAsync) opens a fresh one for the next emit.
            Volatile.Write(ref _refused, 1);
            throw new EmitException($"Event {m.Id} ({m.Name}) was refused by the broker (nack).", e);
        }
        catch (OperationInterruptedException e)
        {
            throw new EmitException(
                $"Event {m.Id} ({m.Name}) may not have been emitted: the channel to {_transport.Description} was closed before the broker confirmed it" +
                (e.ShutdownReason is { } r ? $" ({r.ReplyCode} {r.ReplyText})." : "."),
                e);
        }
        catch (IOException e)
        {
            throw new EmitException(
                $"Event {m.Id} ({m.Name}) may not have been emitted: the connection to {_transport.Description} failed before the broker confirmed it ({e.Message}).",
                e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _transport.Untrack(this);
        await RabbitMqTransport.CloseChannelAsync(_channel).ConfigureAwait(false);
    }
}
