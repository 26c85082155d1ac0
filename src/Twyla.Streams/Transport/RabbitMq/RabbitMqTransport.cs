using System.Collections.Concurrent;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RabbitMQ.Client;
using RabbitMQ.Client.Exceptions;
using Twyla.Streams.Contracts;
using Twyla.Streams.Events;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// The RabbitMQ transport: two connections per bus (one that publishes, one that consumes: see
/// <see cref="RabbitMqConnection"/>), one channel per consumer or publisher session.
/// </summary>
/// <remarks>
/// The client's automatic and topology recovery are off: the streams restart (and redeclare the topology),
/// never both mechanisms (two would make zombie consumers). When the connection is lost, every live session
/// reports it (<see cref="IDeliveryTarget.OnConsumerFailed"/>, failed publishes) and the next
/// <see cref="StartConsumerAsync"/> / <see cref="OpenPublisherAsync"/> connects again.
/// </remarks>
internal sealed class RabbitMqTransport : IEventTransport
{
    internal static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly ConnectionFactory _factory;
    private readonly IReadOnlyList<AmqpTcpEndpoint> _endpoints;
    private readonly ConcurrentDictionary<IAsyncDisposable, byte> _sessions = new();
    private readonly ILogger _logger;
    private readonly RabbitMqConnection _consume;
    private readonly RabbitMqConnection _publish;
    private readonly RabbitMqConnection _contracts;
    private readonly Diagnostics.MessagingTarget _messaging;
    private int _disposed;

    public RabbitMqTransport(RabbitMqSettings settings, ILoggerFactory? loggerFactory = null)
    {
        ArgumentNullException.ThrowIfNull(settings);
        Settings = settings;
        Codec = new CloudEventsAmqpCodec(settings.MaxBodySize);
        DeadLetters = new RabbitMqDeadLetters(this);
        Contracts = new RabbitMqContractLog(this);
        _messaging = new Diagnostics.MessagingTarget("rabbitmq", settings.Exchange);
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Twyla.Streams.RabbitMq");
        _factory = new ConnectionFactory
        {
            UserName = settings.UserName,
            Password = settings.Password,
            VirtualHost = settings.VirtualHost,
            AutomaticRecoveryEnabled = false,
            TopologyRecoveryEnabled = false,
            ClientProvidedName = settings.ConnectionName,
            RequestedHeartbeat = TimeSpan.FromSeconds(30),
        };
        var trustedCa = settings.UseTls && settings.TlsCertificateAuthorityFile is { } caFile
            ? LoadCertificateAuthority(caFile)
            : null;
        _endpoints = settings.Endpoints()
            .Select(e => new AmqpTcpEndpoint(e.Host, e.Port, settings.UseTls ? TlsOption(e.Host, trustedCa) : new SslOption()))
            .ToArray();
        _consume = new RabbitMqConnection(ConnectionRole.Consume, ConnectInOrderAsync, Description, _logger);
        _publish = new RabbitMqConnection(ConnectionRole.Publish, ConnectInOrderAsync, Description, _logger);
        _contracts = new RabbitMqConnection(ConnectionRole.Contracts, ConnectInOrderAsync, Description, _logger);
    }

    public RabbitMqSettings Settings { get; }

    public CloudEventsAmqpCodec Codec { get; }

    private RabbitMqDeadLetters DeadLetters { get; }

    private RabbitMqContractLog Contracts { get; }

    public string Description => Settings.ToString();

    public TimeSpan ConfirmTimeout => Settings.ConfirmTimeout;

    public Diagnostics.MessagingTarget Messaging => _messaging;

    public Task DeclareListenerAsync(ListenerTopology topology, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topology);
        return GuardAsync($"Declaring the queues of group '{topology.QueueName}'", async () =>
        {
            var channel = await OpenChannelAsync(ConnectionRole.Consume, confirms: false, cancellationToken).ConfigureAwait(false);
            try
            {
                await RabbitMqTopology.DeclareListenerAsync(channel, Settings.Exchange, topology, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                await CloseChannelAsync(channel).ConfigureAwait(false);
            }

            return true;
        }, cancellationToken);
    }

    public async Task<IConsumerSession> StartConsumerAsync(
        ListenerTopology topology, int prefetch, IDeliveryTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(topology);
        ArgumentNullException.ThrowIfNull(target);
        ArgumentOutOfRangeException.ThrowIfLessThan(prefetch, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(prefetch, ushort.MaxValue);

        // Confirms are on: retries and drops publish a copy and ack the original only once the copy is confirmed.
        var channel = await OpenChannelAsync(ConnectionRole.Consume, confirms: true, cancellationToken).ConfigureAwait(false);
        try
        {
            await RabbitMqTopology.DeclareListenerAsync(channel, Settings.Exchange, topology, cancellationToken).ConfigureAwait(false);
            await channel.BasicQosAsync(0, (ushort)prefetch, global: false, cancellationToken).ConfigureAwait(false);
            if (topology.OnDeclared is { } onDeclared)
            {
                await onDeclared(cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            await CloseChannelAsync(channel).ConfigureAwait(false);
            throw;
        }

        var session = new RabbitMqConsumerSession(this, channel, topology, target, _logger);
        Track(session);
        try
        {
            await session.StartAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false); // untracks it and closes its channel
            throw;
        }

        return session;
    }

    public async Task<IPublisherSession> OpenPublisherAsync(CancellationToken cancellationToken)
    {
        var channel = await OpenChannelAsync(ConnectionRole.Publish, confirms: true, cancellationToken).ConfigureAwait(false);
        try
        {
            await RabbitMqTopology.DeclareExchangeAsync(channel, Settings.Exchange, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await CloseChannelAsync(channel).ConfigureAwait(false);
            throw;
        }

        var session = new RabbitMqPublisherSession(this, channel);
        Track(session);
        return session;
    }

    public Task<long> CountDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken) =>
        GuardAsync($"Counting the dead letters of group '{topology.QueueName}'", () => DeadLetters.CountAsync(topology, cancellationToken), cancellationToken);

    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(ListenerTopology topology, int skip, int take, CancellationToken cancellationToken) =>
        GuardAsync($"Listing the dead letters of group '{topology.QueueName}'", () => DeadLetters.ListAsync(topology, skip, take, cancellationToken), cancellationToken);

    public Task<int> ReplayDeadLettersAsync(ListenerTopology topology, Func<DeadLetter, bool> filter, CancellationToken cancellationToken) =>
        GuardAsync($"Replaying the dead letters of group '{topology.QueueName}'", () => DeadLetters.ReplayAsync(topology, filter, cancellationToken), cancellationToken);

    public Task<long> PurgeDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken) =>
        GuardAsync($"Purging the dead letters of group '{topology.QueueName}'", () => DeadLetters.PurgeAsync(topology, cancellationToken), cancellationToken);

    public Task AppendContractAsync(ContractRecord record, CancellationToken cancellationToken) =>
        GuardAsync($"Storing a contract ({record.Kind}) in '{Contracts.Name}'", async () =>
        {
            await Contracts.AppendAsync(record, cancellationToken).ConfigureAwait(false);
            return true;
        }, cancellationToken);

    public Task<IReadOnlyList<ContractRecord>> ReadContractsAsync(CancellationToken cancellationToken) =>
        GuardAsync($"Reading the contracts in '{Contracts.Name}'", () => Contracts.ReadAsync(cancellationToken), cancellationToken);

    public event Action<ContractLogLoss>? ContractLogLost
    {
        add => Contracts.Lost += value;
        remove => Contracts.Lost -= value;
    }

    public Task<bool> GroupExistsAsync(ListenerTopology topology, CancellationToken cancellationToken) =>
        GuardAsync($"Looking up the queue of group '{topology.QueueName}'", () => Contracts.QueueExistsAsync(topology.QueueName, cancellationToken), cancellationToken);

    public async Task<BrokerHealth> CheckHealthAsync(CancellationToken cancellationToken)
    {
        try
        {
            // A round trip, not only an open socket: the broker refuses an unknown virtual host after the connection opened.
            var channel = await OpenChannelAsync(ConnectionRole.Consume, confirms: false, cancellationToken).ConfigureAwait(false);
            await CloseChannelAsync(channel).ConfigureAwait(false);
            return _publish.Blocked is { } alarm
                ? BrokerHealth.Degraded($"the broker blocks publishing ({alarm}): emits wait and fail after their confirm timeout; listeners keep consuming")
                : BrokerHealth.Healthy;
        }
#pragma warning disable CA1031 // unhealthy is the answer for any failure to connect
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            return BrokerHealth.Unhealthy(RabbitMqConnectionFailure.Describe(e, Settings));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Live listeners are told (their consumer is gone under them) before this returns.
        foreach (var session in _sessions.Keys)
        {
            if (session is RabbitMqConsumerSession consumer)
            {
                await consumer.CloseBecauseTransportDisposedAsync().ConfigureAwait(false);
            }
            else
            {
                await session.DisposeAsync().ConfigureAwait(false);
            }
        }

        await _consume.CloseAsync().ConfigureAwait(false);
        await _publish.CloseAsync().ConfigureAwait(false);
        await _contracts.CloseAsync().ConfigureAwait(false);
    }

    internal void Untrack(IAsyncDisposable session) => _sessions.TryRemove(session, out _);

    /// <summary>
    /// The one rule for the failures of operations that are neither emits nor listeners: a <see cref="BrokerException"/>
    /// naming the operation, the broker and the cause. A conflicting declaration, the caller's cancellation, a bad
    /// argument and a disposed bus pass through as they are.
    /// </summary>
    private async Task<T> GuardAsync<T>(string operation, Func<Task<T>> run, CancellationToken cancellationToken)
    {
        try
        {
            return await run().ConfigureAwait(false);
        }
        catch (RabbitMqDeadLetters.FilterFailedException e)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(e.InnerException!).Throw();
            throw; // not reached
        }
        catch (Exception e) when (e is not (TopologyConflictException or ArgumentException or ObjectDisposedException)
                                  && !(e is OperationCanceledException && cancellationToken.IsCancellationRequested))
        {
            var cause = e is OperationCanceledException
                ? "the broker did not answer in time"
                : RabbitMqConnectionFailure.Describe(e, Settings);
            throw new BrokerException($"{operation} on {Description} failed: {cause}.", e);
        }
    }

    /// <summary>The open connection of <paramref name="role"/>, connecting (again) when there is none or it was lost.</summary>
    internal Task<IConnection> GetConnectionAsync(ConnectionRole role, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        return (role switch
        {
            ConnectionRole.Publish => _publish,
            ConnectionRole.Contracts => _contracts,
            _ => _consume,
        }).GetAsync(cancellationToken);
    }

    /// <summary>
    /// Connects to the first endpoint that answers, trying them one at a time in the order of the settings (the client
    /// shuffles a list it is given). When none answers, the error names each endpoint with its failure (never credentials).
    /// </summary>
    private async Task<IConnection> ConnectInOrderAsync(string purpose, CancellationToken cancellationToken)
    {
        var failures = new List<BrokerUnreachableException>(_endpoints.Count);
        foreach (var endpoint in _endpoints)
        {
            try
            {
                return await _factory.CreateConnectionAsync([endpoint], $"{Settings.ConnectionName} ({purpose})", cancellationToken).ConfigureAwait(false);
            }
            catch (BrokerUnreachableException e)
            {
                failures.Add(e);
            }
        }

        var reasons = _endpoints.Zip(failures, (endpoint, e) => $"{endpoint.HostName}:{endpoint.Port}: {Reason(e)}");
        throw new InvalidOperationException(
            $"Could not connect to RabbitMQ at {Description}: {string.Join("; ", reasons)}",
            failures.Count == 1 ? failures[0] : new AggregateException(failures));
    }

    internal async Task<IChannel> OpenChannelAsync(ConnectionRole role, bool confirms, CancellationToken cancellationToken)
    {
        var connection = await GetConnectionAsync(role, cancellationToken).ConfigureAwait(false);
        var options = confirms
            ? new CreateChannelOptions(
                publisherConfirmationsEnabled: true,
                publisherConfirmationTrackingEnabled: true,
                outstandingPublisherConfirmationsRateLimiter: null) // the emit stage bounds the window (docs/design.md, pitfalls)
            : new CreateChannelOptions(publisherConfirmationsEnabled: false, publisherConfirmationTrackingEnabled: false);
        // The client does not give up waiting for channel.open-ok when the token fires (it waits for its own 20 s
        // continuation timeout, e.g. while the broker blocks the connection): stop waiting here, and close the channel
        // should it still open.
        var opening = connection.CreateChannelAsync(options, CancellationToken.None);
        try
        {
            return await opening.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _ = opening.ContinueWith(
                static t =>
                {
                    if (t.IsCompletedSuccessfully)
                    {
                        _ = CloseChannelAsync(t.Result);
                    }
                    else
                    {
                        _ = t.Exception; // observed: nobody waits for it any more
                    }
                },
                CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously,
                TaskScheduler.Default);
            throw;
        }
    }

    /// <summary>Closes a channel off the caller's thread (never inside a consumer callback, #1567), bounded by <see cref="CloseTimeout"/>.</summary>
    internal static async Task CloseChannelAsync(IChannel channel)
    {
        await BestEffortAsync(() => channel.IsOpen ? Task.Run(() => channel.CloseAsync()) : Task.CompletedTask, CloseTimeout).ConfigureAwait(false);
        await BestEffortAsync(() => channel.DisposeAsync().AsTask(), CloseTimeout).ConfigureAwait(false);
    }

    internal static async Task CloseConnectionAsync(IConnection connection)
    {
        await BestEffortAsync(
            () => connection.CloseAsync(Constants.ReplySuccess, "bus disposed", CloseTimeout, abort: false, CancellationToken.None),
            CloseTimeout + CloseTimeout).ConfigureAwait(false);
        await BestEffortAsync(() => connection.DisposeAsync().AsTask(), CloseTimeout).ConfigureAwait(false);
    }

    /// <summary>
    /// One step of closing, bounded in time; any failure is ignored: a channel or connection that cannot be closed
    /// is dropped (a channel with its connection, a connection with its socket).
    /// </summary>
    private static async Task BestEffortAsync(Func<Task> step, TimeSpan timeout)
    {
        try
        {
            await step().WaitAsync(timeout).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // closing is best effort
        catch (Exception)
#pragma warning restore CA1031
        {
            // ignored, see above
        }
    }

    private static X509Certificate2 LoadCertificateAuthority(string pemFile)
    {
        try
        {
            return X509CertificateLoader.LoadCertificateFromFile(pemFile);
        }
        catch (Exception e) when (e is CryptographicException or IOException or UnauthorizedAccessException)
        {
            throw new ArgumentException($"The TLS certificate authority file '{pemFile}' could not be read as a certificate: {e.Message}", nameof(pemFile), e);
        }
    }

    private static SslOption TlsOption(string host, X509Certificate2? trustedCa)
    {
        var option = new SslOption(host, enabled: true);
        if (trustedCa is not null)
        {
            option.CertificateValidationCallback = (_, certificate, _, errors) =>
            {
                if (errors == SslPolicyErrors.None)
                {
                    return true;
                }

                // Only an unknown root may be forgiven, and only when it is the configured CA; a wrong host name never is.
                if (certificate is null || (errors & ~SslPolicyErrors.RemoteCertificateChainErrors) != 0)
                {
                    return false;
                }

                using var chain = new X509Chain();
                chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.Add(trustedCa);
                chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
                using var leaf = new X509Certificate2(certificate);
                return chain.Build(leaf);
            };
        }

        return option;
    }

    /// <summary>
    /// Why one endpoint could not be reached: the innermost cause (refused, TLS rejected, login refused), which the
    /// client wraps in a <see cref="BrokerUnreachableException"/> and an <see cref="AggregateException"/>.
    /// </summary>
    private static string Reason(BrokerUnreachableException e) => e.GetBaseException().Message;

    private void Track(IAsyncDisposable session) => _sessions.TryAdd(session, 0);
}
