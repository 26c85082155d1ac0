using Microsoft.Extensions.Logging;
using RabbitMQ.Client;
using Twyla.Streams.Diagnostics;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>What a connection of the transport is for.</summary>
internal enum ConnectionRole
{
    /// <summary>Consumers, declarations, health checks: never publishes events, so a resource alarm does not block it.</summary>
    Consume,

    /// <summary>Emits and dead-letter operations: the broker blocks it while a memory or disk alarm lasts.</summary>
    Publish,

    /// <summary>
    /// The contract log (announcements, discovery): apart, so that a broker error on the log's stream (which closes the
    /// connection) never fails an emit or a listener.
    /// </summary>
    Contracts,
}

/// <summary>
/// One of the transport's two connections: opened on first use, opened again after it was lost, and watched for the
/// broker blocking it (a memory or disk alarm blocks every connection that publishes, with all its channels).
/// </summary>
/// <remarks>
/// Publishers and consumers have connections of their own, as RabbitMQ recommends: on a shared connection an alarm
/// stops the consumers' acks together with the publishes, and a listener stalls the moment anything is emitted.
/// </remarks>
internal sealed class RabbitMqConnection(ConnectionRole role, Func<string, CancellationToken, Task<IConnection>> connect, string description, ILogger logger)
{
    private readonly SemaphoreSlim _lock = new(1, 1);
    private IConnection? _connection;
    private string? _blocked;
    private bool _closed;

    public ConnectionRole Role => role;

    /// <summary>Why the broker blocks this connection now (its alarm), or <c>null</c>.</summary>
    public string? Blocked => _connection is { IsOpen: true } ? Volatile.Read(ref _blocked) : null;

    /// <summary>The open connection, connecting (again) when there is none or it was lost.</summary>
    public async Task<IConnection> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _connection) is { IsOpen: true } current)
        {
            return current;
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_closed, this); // the transport was disposed while this call waited
            if (_connection is { IsOpen: true } open)
            {
                return open;
            }

            if (_connection is { } lost)
            {
                _connection = null;
                _ = RabbitMqTransport.CloseConnectionAsync(lost); // already closed by the broker or the network; release it
            }

            var connection = await connect(role.ToString().ToLowerInvariant(), cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _blocked, null);
            connection.ConnectionBlockedAsync += (_, args) =>
            {
                Volatile.Write(ref _blocked, args.Reason);
                logger.ConnectionBlocked(description, role, args.Reason);
                return Task.CompletedTask;
            };
            connection.ConnectionUnblockedAsync += (_, _) =>
            {
                Volatile.Write(ref _blocked, null);
                logger.ConnectionUnblocked(description, role);
                return Task.CompletedTask;
            };
            connection.ConnectionShutdownAsync += (_, args) =>
            {
                if (args.Initiator != ShutdownInitiator.Application)
                {
                    logger.ConnectionLost(role, description, args.ReplyText);
                }

                return Task.CompletedTask;
            };
            Volatile.Write(ref _connection, connection);
            logger.Connected(description, role);
            return connection;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>Closes the connection, if any (bounded in time), for good: a connect waiting for the lock gives up.</summary>
    public async Task CloseAsync()
    {
        await _lock.WaitAsync().ConfigureAwait(false); // a connect in progress finishes first, so its connection is closed here
        try
        {
            _closed = true;
            if (Interlocked.Exchange(ref _connection, null) is { } connection)
            {
                await RabbitMqTransport.CloseConnectionAsync(connection).ConfigureAwait(false);
            }
        }
        finally
        {
            _lock.Release();
        }
    }
}
