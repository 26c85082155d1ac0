using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Akka;
using Akka.Streams.Dsl;
using Twyla.Streams.Contracts;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.InMemory;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams;

/// <summary>
/// The entry point: owns the transport (the in-memory broker or a RabbitMQ connection) and makes the
/// listen sources and emit sinks of a service. Dispose it when the service stops (<c>await using</c>, or
/// the host's container).
/// </summary>
public sealed class EventBus : IAsyncDisposable, IDisposable
{
    private readonly IEventTransport _transport;
    private readonly SharedPublisher _sharedPublisher;
    private readonly BusContracts _contracts;
    private readonly ContractGuard _contractGuard;
    private int _disposed;

    internal EventBus(IEventTransport transport, EventBusSettings settings)
    {
        _transport = transport;
        _sharedPublisher = new SharedPublisher(
            transport.OpenPublisherAsync, transport.ConfirmTimeout, EmitSettings.Default.MaxInFlight);
        Settings = settings;
        _contracts = new BusContracts(transport, settings);
        _contractGuard = new ContractGuard(
            _contracts.DiscoverAsync, settings.JsonOptions, settings.LoggerFactory.CreateLogger("Twyla.Streams.Contracts"), TimeProvider.System);
    }

    /// <summary>The bus's settings.</summary>
    public EventBusSettings Settings { get; }

    /// <summary>What the bus is connected to, for logs (never credentials).</summary>
    public string TransportDescription => _transport.Description;

    /// <summary>Whether the bus runs on the embedded in-memory broker (events live in this process only).</summary>
    public bool IsInMemory => _transport is InMemoryTransport;

    /// <summary>
    /// Whether the broker can be used now, and why not: a round trip to the broker (RabbitMQ: a channel opened and
    /// closed), so refused credentials or an unknown virtual host show. Degraded while the broker blocks publishing
    /// (a memory or disk alarm). For health checks; never throws for a broker that cannot be reached.
    /// </summary>
    /// <param name="cancellationToken">Gives up waiting.</param>
    /// <returns>The broker's health, with the reason when it is not healthy.</returns>
    public Task<BrokerHealth> CheckHealthAsync(CancellationToken cancellationToken) => _transport.CheckHealthAsync(cancellationToken);

    /// <summary>
    /// Checks a listener's pattern and group as <see cref="Listen{T}(string, string)"/> does, without a bus: for hosts
    /// that register listeners before the bus exists and should fail early.
    /// </summary>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <exception cref="ArgumentException">The pattern or the group breaks its rules (the message says which).</exception>
    public static void ValidateListener(string pattern, string group) => _ = ListenerTopology.Create(pattern, group, QueueType.Classic);

    internal IEventTransport Transport => _transport;

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            await _sharedPublisher.DisposeAsync().ConfigureAwait(false);
            await _transport.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Disposes synchronously, for containers and <c>using</c> statements that do not await: blocks until
    /// <see cref="DisposeAsync"/> has closed the transport (each RabbitMQ channel and the connection close within a
    /// bounded time). Prefer <see cref="DisposeAsync"/> where you can await.
    /// </summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    /// <summary>
    /// Creates a bus on the embedded in-memory broker: no RabbitMQ needed, same semantics (a queue per listener
    /// group that gets every matching event, competing consumers with prefetch, requeue and dead-letter).
    /// For samples, local runs and tests of services; events live in this process only and are lost when it ends.
    /// </summary>
    /// <param name="settings">The bus's settings.</param>
    /// <returns>The bus; dispose it to stop its listeners and drop the broker's state.</returns>
    public static EventBus InMemory(EventBusSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new EventBus(new InMemoryTransport(), settings);
    }

    /// <summary>
    /// Creates a bus for another service of the same process on the embedded in-memory broker of
    /// <paramref name="sharedWith"/>: it sees the same queues and the same announced contracts, as services sharing a
    /// RabbitMQ broker do. The broker lives until every bus on it is disposed; disposing a bus stops only its own listeners.
    /// </summary>
    /// <param name="settings">The new bus's settings (its own service name).</param>
    /// <param name="sharedWith">An in-memory bus whose broker to share.</param>
    /// <returns>The bus.</returns>
    /// <exception cref="ArgumentException"><paramref name="sharedWith"/> is not an in-memory bus.</exception>
    public static EventBus InMemory(EventBusSettings settings, EventBus sharedWith)
    {
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(sharedWith);
        if (sharedWith._transport is not InMemoryTransport inMemory)
        {
            throw new ArgumentException($"Only an in-memory bus shares its broker; this one runs on {sharedWith.TransportDescription}.", nameof(sharedWith));
        }

        return new EventBus(inMemory.Beside(), settings);
    }

    /// <summary>
    /// A bus on RabbitMQ. Connecting is lazy: the first listener or emitter connects (and every one after a
    /// lost connection connects again), so a service can start before its broker does; use
    /// <see cref="ConnectRabbitMqAsync"/> to fail at start-up when the broker does not answer.
    /// </summary>
    /// <param name="rabbit">Where the broker is and how to reach it.</param>
    /// <param name="settings">The bus's settings.</param>
    /// <returns>The bus; dispose it when the service stops.</returns>
    public static EventBus RabbitMq(RabbitMqSettings rabbit, EventBusSettings settings)
    {
        ArgumentNullException.ThrowIfNull(rabbit);
        ArgumentNullException.ThrowIfNull(settings);
        return new EventBus(new RabbitMqTransport(rabbit, settings.LoggerFactory), settings);
    }

    /// <summary>
    /// A bus on RabbitMQ that has connected already: fails when the broker does not answer (the message names
    /// the broker as <c>amqp://host:port/vhost</c>, never the credentials).
    /// </summary>
    /// <param name="rabbit">Where the broker is and how to reach it.</param>
    /// <param name="settings">The bus's settings.</param>
    /// <param name="cancellationToken">Cancels connecting.</param>
    /// <returns>The connected bus; dispose it when the service stops.</returns>
    public static async Task<EventBus> ConnectRabbitMqAsync(
        RabbitMqSettings rabbit, EventBusSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(rabbit);
        ArgumentNullException.ThrowIfNull(settings);
        var transport = new RabbitMqTransport(rabbit, settings.LoggerFactory);
        try
        {
            await transport.GetConnectionAsync(ConnectionRole.Consume, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return new EventBus(transport, settings);
    }

    /// <summary>
    /// Listens to the events named <paramref name="pattern"/> as member of <paramref name="group"/>, with default settings.
    /// See <see cref="Listen{T}(string, string, ListenSettings)"/>.
    /// </summary>
    /// <typeparam name="T">The payload contract; payloads that do not parse into it are dead-lettered.</typeparam>
    /// <param name="pattern">An event name (<c>booking.created</c>) or pattern (<c>booking.*</c>, <c>booking.#</c>).</param>
    /// <param name="group">The listener group: groups each get every event, listeners in one group compete.</param>
    /// <returns>The source of events; materializes its <see cref="IListenControl"/>.</returns>
    public Source<Event<T>, IListenControl> Listen<T>(string pattern, string group) => Listen<T>(pattern, group, ListenSettings.Default);

    /// <summary>
    /// Listens to the events named <paramref name="pattern"/> as member of <paramref name="group"/>: declares the
    /// group's queue <c>{pattern}.{group}</c> (and its dead-letter queue) and consumes it with at most
    /// <see cref="ListenSettings.Prefetch"/> events unsettled. Each event is acked only when the pipeline settles it
    /// (see <see cref="AckOnCompletion"/>). A payload that does not parse into <typeparamref name="T"/> never reaches
    /// the pipeline: it is dead-lettered with the reason and logged at warning level.
    /// <para><b>Emits when</b> an event was delivered, parsed and downstream demands.</para>
    /// <para><b>Backpressures when</b> downstream backpressures; the broker then stops at the prefetch bound.</para>
    /// <para><b>Completes when</b> the control's <see cref="IListenControl.ShutdownAsync"/> or <see cref="IListenControl.DrainAsync"/> is called.</para>
    /// <para><b>Cancels when</b> never by itself; when downstream cancels, unsettled events may still be settled during the drain timeout, then the consumer closes.</para>
    /// <para><b>Fails when</b> the consumer cannot start or dies (broker connection lost, queue deleted); unsettled events go back to the queue.</para>
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="settings">Prefetch, queue type, drain timeout.</param>
    /// <returns>The source of events; materializes its <see cref="IListenControl"/>.</returns>
    public Source<Event<T>, IListenControl> Listen<T>(string pattern, string group, ListenSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var topology = _contracts.Announcing<T>(ListenerTopology.Create(pattern, group, settings));
        var logger = Settings.LoggerFactory.CreateLogger("Twyla.Streams.Listen");
        return Source.FromGraph(new ListenStage<T>(_transport, topology, settings, Settings.JsonOptions, logger));
    }

    /// <summary>
    /// Declares the queue of a listener group ahead of its first listener, so events emitted from now on are kept for it.
    /// </summary>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="settings">The queue type is taken from these.</param>
    /// <returns>Completes when the queue exists.</returns>
    public Task DeclareGroupAsync(string pattern, string group, ListenSettings settings) =>
        DeclareGroupAsync(pattern, group, settings, CancellationToken.None);

    /// <summary>
    /// Declares the queue of a listener group ahead of its first listener, so events emitted from now on are kept for it.
    /// </summary>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="settings">The queue type is taken from these.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>Completes when the queue exists.</returns>
    public Task DeclareGroupAsync(string pattern, string group, ListenSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return _transport.DeclareListenerAsync(ListenerTopology.Create(pattern, group, settings), cancellationToken);
    }

    /// <summary>
    /// Emits each payload as a new event named <paramref name="eventName"/> (a chain start), with default settings.
    /// See <see cref="EmitEvents{T}(EmitSettings)"/>.
    /// </summary>
    /// <typeparam name="T">The payload contract (or <c>JsonElement</c>/<c>JsonObject</c>).</typeparam>
    /// <param name="eventName">The name of every event, <c>domain.event-type</c>.</param>
    /// <returns>A sink that materializes a task completing when every event was confirmed by the broker.</returns>
    public Sink<T, Task<Done>> Emit<T>(string eventName) => Emit<T>(eventName, EmitSettings.Default);

    /// <summary>
    /// Emits each payload as a new event named <paramref name="eventName"/> (a chain start).
    /// <para><b>Backpressures when</b> <see cref="EmitSettings.MaxInFlight"/> events await their broker confirm.</para>
    /// <para><b>Completes when</b> upstream completes and every event was confirmed.</para>
    /// <para><b>Fails when</b> an event is refused or not confirmed in time (<see cref="EmitException"/>).</para>
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="eventName">The name of every event.</param>
    /// <param name="settings">In-flight bound, confirm timeout, mandatory.</param>
    /// <returns>A sink that materializes a task completing when every event was confirmed by the broker.</returns>
    public Sink<T, Task<Done>> Emit<T>(string eventName, EmitSettings settings)
    {
        EventName.Validate(eventName, nameof(eventName));
        ArgumentNullException.ThrowIfNull(settings);
        var version = settings.DataVersion ?? ContractVersions.Of(typeof(T));
        return Flow.Create<T>()
            .Select(payload => OutgoingEvent.CreateVersioned(eventName, payload, version))
            .ToMaterialized(EmitEvents<T>(settings), Keep.Right);
    }

    /// <summary>Emits outgoing events, with default settings. See <see cref="EmitEvents{T}(EmitSettings)"/>.</summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <returns>A sink that materializes a task completing when every event was confirmed by the broker.</returns>
    public Sink<OutgoingEvent<T>, Task<Done>> EmitEvents<T>() => EmitEvents<T>(EmitSettings.Default);

    /// <summary>
    /// Emits outgoing events (made with <see cref="OutgoingEvent.Create{T}"/> or <see cref="Event{T}.Derive{TOut}"/>).
    /// <para><b>Backpressures when</b> <see cref="EmitSettings.MaxInFlight"/> events await their broker confirm.</para>
    /// <para><b>Completes when</b> upstream completes and every event was confirmed.</para>
    /// <para><b>Fails when</b> an event is refused or not confirmed in time (<see cref="EmitException"/>).</para>
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="settings">In-flight bound, confirm timeout, mandatory.</param>
    /// <returns>A sink that materializes a task completing when every event was confirmed by the broker.</returns>
    public Sink<OutgoingEvent<T>, Task<Done>> EmitEvents<T>(EmitSettings settings) =>
        EmitFlow<T>(settings).ToMaterialized(Sink.Ignore<EventMetadata>(), Keep.Right);

    /// <summary>A pass-through emit with default settings. See <see cref="EmitFlow{T}(EmitSettings)"/>.</summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <returns>A flow from outgoing events to the metadata of the emitted events.</returns>
    public Flow<OutgoingEvent<T>, EventMetadata, NotUsed> EmitFlow<T>() => EmitFlow<T>(EmitSettings.Default);

    /// <summary>
    /// Emits outgoing events and passes on the metadata (id, time, correlation) of each, in input order, once the
    /// broker confirmed it.
    /// <para><b>Emits when</b> the oldest event in flight was confirmed and downstream demands.</para>
    /// <para><b>Backpressures when</b> <see cref="EmitSettings.MaxInFlight"/> events await their confirm, or downstream backpressures.</para>
    /// <para><b>Completes when</b> upstream completes and every event was confirmed and passed on.</para>
    /// <para><b>Cancels when</b> downstream cancels.</para>
    /// <para><b>Fails when</b> an event is refused (nack, unroutable while mandatory), not confirmed within the confirm timeout (<see cref="Transport.RabbitMq.RabbitMqSettings.ConfirmTimeout"/>),
    /// or the connection fails (<see cref="EmitException"/> naming the event), or, with <see cref="EmitSettings.CheckContracts"/>,
    /// a group receiving the event would dead-letter its payload (<see cref="EmitException"/> naming the group; that event is not sent).</para>
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="settings">In-flight bound, confirm timeout, mandatory, contract check.</param>
    /// <returns>A flow from outgoing events to the metadata of the emitted events; materializes <see cref="NotUsed"/>.</returns>
    public Flow<OutgoingEvent<T>, EventMetadata, NotUsed> EmitFlow<T>(EmitSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var noted = Flow.Create<OutgoingEvent<T>>().Select(e =>
        {
            _contracts.NoteProduced(e.Name, e.Version);
            return e;
        });
        // A refusal fails the stream with the EmitException itself (SelectAsync would wrap a faulted task's in an AggregateException).
        var checkedFirst = settings.CheckContracts
            ? noted
                .SelectAsync(1, async e =>
                {
                    try
                    {
                        await _contractGuard.CheckAsync(e.Name, e.Payload, CancellationToken.None).ConfigureAwait(false);
                        return (Event: e, Refusal: (ExceptionDispatchInfo?)null);
                    }
                    catch (EmitException refusal)
                    {
                        return (Event: e, Refusal: ExceptionDispatchInfo.Capture(refusal));
                    }
                })
                .Select(checkedEvent =>
                {
                    checkedEvent.Refusal?.Throw();
                    return checkedEvent.Event;
                })
            : noted;
        return checkedFirst.Via(Flow.FromGraph(new EmitStage<T>(_transport, settings, Settings)));
    }

    /// <summary>Emits one event outside a stream: a chain start named <paramref name="eventName"/>.</summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="eventName">The event name.</param>
    /// <param name="payload">The payload; not null.</param>
    /// <returns>The emitted event's metadata, once the broker confirmed it.</returns>
    public Task<EventMetadata> EmitAsync<T>(string eventName, T payload) =>
        EmitAsync(OutgoingEvent.Create(eventName, payload), CancellationToken.None);

    /// <summary>Emits one event outside a stream: a chain start named <paramref name="eventName"/>.</summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="eventName">The event name.</param>
    /// <param name="payload">The payload; not null.</param>
    /// <param name="cancellationToken">Gives up waiting (see <see cref="EmitAsync{T}(OutgoingEvent{T}, CancellationToken)"/>).</param>
    /// <returns>The emitted event's metadata, once the broker confirmed it.</returns>
    public Task<EventMetadata> EmitAsync<T>(string eventName, T payload, CancellationToken cancellationToken) =>
        EmitAsync(OutgoingEvent.Create(eventName, payload), cancellationToken);

    /// <summary>
    /// Emits one event outside a stream; completes when the broker confirmed it, fails with <see cref="EmitException"/>
    /// when it was refused or not confirmed within the default confirm timeout.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="outgoing">The event.</param>
    /// <returns>The emitted event's metadata.</returns>
    public Task<EventMetadata> EmitAsync<T>(OutgoingEvent<T> outgoing) => EmitAsync(outgoing, CancellationToken.None);

    /// <summary>
    /// Emits one event outside a stream; completes when the broker confirmed it. Every failure to emit is an
    /// <see cref="EmitException"/> naming the event and the cause: refused (nack), not confirmed within the default
    /// confirm timeout (or the transport's, when shorter), no publisher could be opened (broker down, access refused,
    /// TLS rejected), or the bus was disposed (an <see cref="ObjectDisposedException"/> inside), as the emit sinks fail.
    /// After a lost connection the next call connects again: no restart and no new bus are needed.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="outgoing">The event.</param>
    /// <param name="cancellationToken">
    /// Gives up waiting with <see cref="OperationCanceledException"/>. Cancelled before the call, nothing is emitted;
    /// cancelled while waiting for the broker's confirm, the event may or may not have been emitted (the message says so).
    /// </param>
    /// <returns>The emitted event's metadata.</returns>
    public Task<EventMetadata> EmitAsync<T>(OutgoingEvent<T> outgoing, CancellationToken cancellationToken) =>
        EmitAsync(outgoing, EmitSettings.Default, cancellationToken);

    /// <summary>
    /// Emits one event outside a stream with <paramref name="settings"/>: its mandatory flag and
    /// pre-emit contract check (<see cref="EmitSettings.CheckContracts"/>: a payload that a group receiving the event
    /// would dead-letter fails with <see cref="EmitException"/> naming the group, its service and the member, and nothing is sent).
    /// Otherwise as <see cref="EmitAsync{T}(OutgoingEvent{T}, CancellationToken)"/>.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="outgoing">The event.</param>
    /// <param name="settings">Mandatory, contract check (the in-flight bound does not apply to one event).</param>
    /// <param name="cancellationToken">Gives up waiting with <see cref="OperationCanceledException"/>.</param>
    /// <returns>The emitted event's metadata.</returns>
    public async Task<EventMetadata> EmitAsync<T>(OutgoingEvent<T> outgoing, EmitSettings settings, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(outgoing);
        ArgumentNullException.ThrowIfNull(settings);
        cancellationToken.ThrowIfCancellationRequested();
        if (settings.CheckContracts)
        {
            // Before the envelope: a refused event gets no id, no publish span and no emit metric, as in EmitFlow.
            await _contractGuard.CheckAsync(outgoing.Name, outgoing.Payload, cancellationToken).ConfigureAwait(false);
        }

        var envelope = EnvelopeFactory.Create(outgoing, Settings, _transport.Messaging, out var span);
        var start = Stopwatch.GetTimestamp();
        try
        {
            _contracts.NoteProduced(outgoing.Name, outgoing.Version);
            await PublishAsync(envelope, settings, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            var outcome = ex switch
            {
                OperationCanceledException => EmitTelemetry.Cancelled,
                EmitException { InnerException: OperationCanceledException } => EmitTelemetry.TimedOut,
                _ => EmitTelemetry.Classify(ex),
            };
            EmitTelemetry.Record(_transport.Messaging, envelope.Metadata, start, outcome);
            EventTracing.EndPublish(span, outcome, ex.Message);
            throw;
        }

        EmitTelemetry.Record(_transport.Messaging, envelope.Metadata, start, EmitTelemetry.Confirmed);
        EventTracing.EndPublish(span, EmitTelemetry.Confirmed, null);
        return envelope.Metadata;
    }

    /// <summary>
    /// Emits one event outside a stream, as <see cref="EmitAsync{T}(string, T)"/> does, and completes when the broker
    /// confirmed it, without handing back its metadata: a plain <see cref="Task"/>, so F# awaits it with <c>do!</c>
    /// inside <c>task { }</c>. Fails as <see cref="EmitAsync{T}(string, T)"/> fails.
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="eventName">The event name.</param>
    /// <param name="payload">The payload; not null.</param>
    /// <returns>Completes once the broker confirmed the event.</returns>
    public Task EmitAndConfirmAsync<T>(string eventName, T payload) => EmitAsync(eventName, payload);

    /// <summary>
    /// Emits one event outside a stream, as <see cref="EmitAsync{T}(string, T, CancellationToken)"/> does, without
    /// handing back its metadata (a plain <see cref="Task"/>, for F#'s <c>do!</c>).
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="eventName">The event name.</param>
    /// <param name="payload">The payload; not null.</param>
    /// <param name="cancellationToken">Gives up waiting (see <see cref="EmitAsync{T}(OutgoingEvent{T}, CancellationToken)"/>).</param>
    /// <returns>Completes once the broker confirmed the event.</returns>
    public Task EmitAndConfirmAsync<T>(string eventName, T payload, CancellationToken cancellationToken) =>
        EmitAsync(eventName, payload, cancellationToken);

    /// <summary>
    /// Emits one event outside a stream, as <see cref="EmitAsync{T}(OutgoingEvent{T})"/> does, without handing back
    /// its metadata (a plain <see cref="Task"/>, for F#'s <c>do!</c>, e.g. with <see cref="Event{T}.Derive{TOut}"/>).
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="outgoing">The event.</param>
    /// <returns>Completes once the broker confirmed the event.</returns>
    public Task EmitAndConfirmAsync<T>(OutgoingEvent<T> outgoing) => EmitAsync(outgoing);

    /// <summary>
    /// Emits one event outside a stream, as <see cref="EmitAsync{T}(OutgoingEvent{T}, CancellationToken)"/> does,
    /// without handing back its metadata (a plain <see cref="Task"/>, for F#'s <c>do!</c>).
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="outgoing">The event.</param>
    /// <param name="cancellationToken">Gives up waiting (see <see cref="EmitAsync{T}(OutgoingEvent{T}, CancellationToken)"/>).</param>
    /// <returns>Completes once the broker confirmed the event.</returns>
    public Task EmitAndConfirmAsync<T>(OutgoingEvent<T> outgoing, CancellationToken cancellationToken) =>
        EmitAsync(outgoing, cancellationToken);

    /// <summary>
    /// Emits one event outside a stream with <paramref name="settings"/>, as
    /// <see cref="EmitAsync{T}(OutgoingEvent{T}, EmitSettings, CancellationToken)"/> does (contract check included),
    /// without handing back its metadata (a plain <see cref="Task"/>, for F#'s <c>do!</c>).
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="outgoing">The event.</param>
    /// <param name="settings">Mandatory, contract check.</param>
    /// <param name="cancellationToken">Gives up waiting with <see cref="OperationCanceledException"/>.</param>
    /// <returns>Completes once the broker confirmed the event.</returns>
    public Task EmitAndConfirmAsync<T>(OutgoingEvent<T> outgoing, EmitSettings settings, CancellationToken cancellationToken) =>
        EmitAsync(outgoing, settings, cancellationToken);

    /// <summary>Publishes <paramref name="envelope"/> on the shared publisher and waits for the broker's confirm; the failures of <c>EmitAsync</c>.</summary>
    private async Task PublishAsync(EventEnvelope envelope, EmitSettings settings, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _disposed) != 0)
        {
            throw new EmitException($"{What(envelope)} was not emitted: the event bus was disposed.", new ObjectDisposedException(nameof(EventBus)));
        }

        var timeout = _transport.ConfirmTimeout; // opening the publisher included
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        IPublisherSession publisher;
        try
        {
            publisher = await _sharedPublisher.GetAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException($"{What(envelope)} was not emitted: the emit was cancelled.", ex, cancellationToken);
        }
        catch (OperationCanceledException ex) when (cts.IsCancellationRequested)
        {
            throw new EmitException($"{What(envelope)} was not emitted: no publisher could be opened on {_transport.Description} within {timeout}.", ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new EmitException($"{What(envelope)} was not emitted: the event bus was disposed.", ex);
        }
        catch (Exception ex)
        {
            throw new EmitException($"{What(envelope)} was not emitted: no publisher could be opened on {_transport.Description}: {ex.Message}", ex);
        }

        try
        {
            await _sharedPublisher.PublishAsync(publisher, envelope, settings.Mandatory, cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(
                $"{What(envelope)}: the emit was cancelled before the broker confirmed it; it may or may not have been emitted.", ex, cancellationToken);
        }
        catch (OperationCanceledException ex) when (cts.IsCancellationRequested)
        {
            await _sharedPublisher.ForgetIfDeadAsync(publisher).ConfigureAwait(false);
            throw new EmitException($"{What(envelope)} was not confirmed by the broker within {timeout}.", ex);
        }
        catch (EmitException)
        {
            await _sharedPublisher.ForgetIfDeadAsync(publisher).ConfigureAwait(false);
            throw;
        }
        catch (Exception ex)
        {
            await _sharedPublisher.ForgetIfDeadAsync(publisher).ConfigureAwait(false);
            throw new EmitException($"{What(envelope)} was not emitted: {ex.Message}", ex);
        }
    }

    /// <summary>
    /// Discovers the contracts of the groups that receive <paramref name="eventName"/>: those announced on the broker (every
    /// listener announces its group's contract when it starts) whose pattern matches the name and whose queue exists, with
    /// the versions services emit the event with. A round trip to the broker (RabbitMQ: the contract log is read from its start).
    /// </summary>
    /// <param name="eventName">The event name.</param>
    /// <returns>The groups' contracts and the producers' versions.</returns>
    public Task<DiscoveredContracts> DiscoverContractsAsync(string eventName) => DiscoverContractsAsync(eventName, CancellationToken.None);

    /// <summary>
    /// Discovers the contracts of the groups that receive <paramref name="eventName"/>
    /// (see <see cref="DiscoverContractsAsync(string)"/>); fails with <see cref="Transport.BrokerException"/> when the broker cannot be read.
    /// </summary>
    /// <param name="eventName">The event name.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>The groups' contracts and the producers' versions.</returns>
    public Task<DiscoveredContracts> DiscoverContractsAsync(string eventName, CancellationToken cancellationToken) =>
        _contracts.DiscoverAsync(eventName, cancellationToken);

    /// <summary>
    /// Discovers the contracts of every listener group announced on the broker whose queue exists, whatever events they
    /// receive (to list or inspect all groups, as an operator's tool does), by pattern, service and group. A round trip to
    /// the broker, like <see cref="DiscoverContractsAsync(string)"/>.
    /// </summary>
    /// <returns>The groups' contracts.</returns>
    public Task<IReadOnlyList<GroupContract>> DiscoverGroupContractsAsync() => DiscoverGroupContractsAsync(CancellationToken.None);

    /// <summary>
    /// Discovers the contracts of every listener group announced on the broker whose queue exists
    /// (see <see cref="DiscoverGroupContractsAsync()"/>); fails with <see cref="Transport.BrokerException"/> when the broker cannot be read.
    /// </summary>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>The groups' contracts.</returns>
    public Task<IReadOnlyList<GroupContract>> DiscoverGroupContractsAsync(CancellationToken cancellationToken) =>
        _contracts.DiscoverGroupsAsync(cancellationToken);

    /// <summary>
    /// Retires the contract of a listener group that is gone: discovery no longer shows it (until a listener of the group
    /// starts again and announces it). A group whose queue was deleted disappears from discovery by itself.
    /// </summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>Completes when the broker stored the retirement.</returns>
    public Task RetireGroupAsync(string pattern, string group, CancellationToken cancellationToken) =>
        _contracts.RetireAsync(pattern, group, cancellationToken);

    /// <summary>How the failure messages of <see cref="EmitAsync{T}(OutgoingEvent{T}, CancellationToken)"/> name the event (built only on failure).</summary>
    private static string What(EventEnvelope envelope) => $"Event {envelope.Metadata.Id} ({envelope.Metadata.Name})";

    /// <summary>Reads (without removing) up to 1,000 dead letters of a listener group's queue, oldest first.</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <returns>The dead letters, oldest first.</returns>
    public Task<IReadOnlyList<DeadLetter>> PeekDeadLettersAsync(string pattern, string group) =>
        ListDeadLettersAsync(pattern, group, 0, 1000, CancellationToken.None);

    /// <summary>Reads (without removing) up to 1,000 dead letters of a listener group's queue, oldest first.</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>The dead letters, oldest first.</returns>
    public Task<IReadOnlyList<DeadLetter>> PeekDeadLettersAsync(string pattern, string group, CancellationToken cancellationToken) =>
        ListDeadLettersAsync(pattern, group, 0, 1000, cancellationToken);

    /// <summary>How many dead letters a listener group has (0 when it never dead-lettered anything or was never declared).</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <returns>The number of messages in <c>{pattern}.{group}.dead-letter</c>.</returns>
    public Task<long> CountDeadLettersAsync(string pattern, string group) => CountDeadLettersAsync(pattern, group, CancellationToken.None);

    /// <summary>How many dead letters a listener group has (0 when it never dead-lettered anything or was never declared).</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>The number of messages in <c>{pattern}.{group}.dead-letter</c>.</returns>
    public Task<long> CountDeadLettersAsync(string pattern, string group, CancellationToken cancellationToken) =>
        _transport.CountDeadLettersAsync(DeadLetterTopology(pattern, group), cancellationToken);

    /// <summary>
    /// Reads one page of a listener group's dead letters without removing them, oldest first: the letters
    /// <paramref name="skip"/> to <paramref name="skip"/> + <paramref name="take"/>. On RabbitMQ a page is read by
    /// taking every letter up to its end and giving them back, so deep pages cost more than the first.
    /// </summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="skip">How many of the oldest to pass over; 0 or more.</param>
    /// <param name="take">The page size, 1 to 10,000.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>The page; fewer than <paramref name="take"/> (or none) at the end.</returns>
    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(string pattern, string group, int skip, int take, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        if (take is < 1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(take), take, "A page of dead letters holds 1 to 10,000 letters.");
        }

        return _transport.ListDeadLettersAsync(DeadLetterTopology(pattern, group), skip, take, cancellationToken);
    }

    /// <summary>
    /// Replays every dead letter of a listener group: each goes back to the group's queue (to its end) as a first
    /// delivery, with its id, correlation and causation ids and payload unchanged and its
    /// <see cref="DeadLetter.ReplayCount"/> one higher. The group's queue must exist (a listener declared it).
    /// </summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="cancellationToken">Gives up; what was replayed until then stays replayed.</param>
    /// <returns>How many were replayed.</returns>
    public Task<int> ReplayDeadLettersAsync(string pattern, string group, CancellationToken cancellationToken) =>
        ReplayDeadLettersAsync(pattern, group, static _ => true, cancellationToken);

    /// <summary>
    /// Replays the dead letters of a listener group that <paramref name="filter"/> accepts (see
    /// <see cref="ReplayDeadLettersAsync(string, string, CancellationToken)"/>); the others stay, in their order.
    /// </summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="filter">Which letters to replay, e.g. by <see cref="DeadLetter.Reason"/> or <see cref="DeadLetter.EventId"/>.</param>
    /// <param name="cancellationToken">Gives up; what was replayed until then stays replayed.</param>
    /// <returns>How many were replayed.</returns>
    public Task<int> ReplayDeadLettersAsync(string pattern, string group, Func<DeadLetter, bool> filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return _transport.ReplayDeadLettersAsync(DeadLetterTopology(pattern, group), filter, cancellationToken);
    }

    /// <summary>Replays the dead letter of the event with id <paramref name="eventId"/> (every copy of it).</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="eventId">The event's id.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>Whether a dead letter with that id was found and replayed.</returns>
    public async Task<bool> ReplayDeadLetterAsync(string pattern, string group, string eventId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventId);
        var replayed = await ReplayDeadLettersAsync(
            pattern, group, letter => string.Equals(letter.EventId, eventId, StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
        return replayed > 0;
    }

    /// <summary>Deletes every dead letter of a listener group.</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>How many were deleted.</returns>
    public Task<long> PurgeDeadLettersAsync(string pattern, string group, CancellationToken cancellationToken) =>
        _transport.PurgeDeadLettersAsync(DeadLetterTopology(pattern, group), cancellationToken);

    /// <summary>The names of a group's queues; its queue type and retry delays do not matter to its dead letters.</summary>
    private static ListenerTopology DeadLetterTopology(string pattern, string group) =>
        ListenerTopology.Create(pattern, group, QueueType.Classic);
}
