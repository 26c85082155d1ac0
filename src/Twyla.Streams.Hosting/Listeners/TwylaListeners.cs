using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting.Diagnostics;

namespace Twyla.Streams.Hosting.Listeners;

/// <summary>
/// The hosted listeners of a service: starts each one's graph on the actor system and drains them all, once, when the
/// host stops (from <see cref="TwylaLifecycleService"/>, before Akka.Hosting runs CoordinatedShutdown) or when the
/// actor system shuts down by itself (a CoordinatedShutdown task in <c>service-requests-done</c>).
/// </summary>
internal sealed class TwylaListeners
{
    private readonly IServiceProvider _services;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly List<HostedListener> _listeners = [];
    private readonly List<Task> _starts = [];
    private readonly StartedMaterializer _materializer = new("twyla");
    private bool _shutdownTaskAdded;
    private Task? _drain;

    public TwylaListeners(IServiceProvider services, ILoggerFactory loggerFactory)
    {
        _services = services;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Twyla.Streams.Hosting.Listeners");
    }

    public IReadOnlyList<HostedListener> Listeners
    {
        get
        {
            lock (_gate)
            {
                return [.. _listeners];
            }
        }
    }

    /// <summary>
    /// Registers the listener and begins declaring its queue (so events emitted once the host runs are kept) and then
    /// starting its graph, without waiting: Akka.Hosting runs the start-up tasks one after another, and a service with
    /// many listeners must not pay their declarations' round trips in a row. <see cref="WhenStartedAsync"/> waits for them.
    /// </summary>
    public Task StartAsync(IListenerDefinition definition, ActorSystem system)
    {
        var bus = _services.GetRequiredService<EventBus>();
        var settings = ListenerSettings.Resolve(definition.Options, _services.GetRequiredService<IOptions<TwylaOptions>>().Value);
        lock (_gate)
        {
            if (_listeners.Any(l => l.Pattern == definition.Pattern && l.Group == definition.Group))
            {
                throw new InvalidOperationException(
                    $"A Twyla listener for '{definition.Pattern}' in group '{definition.Group}' is registered twice; " +
                    "register it once and raise its Parallelism instead.");
            }

            if (!_shutdownTaskAdded)
            {
                _shutdownTaskAdded = true;
                CoordinatedShutdown.Get(system).AddTask(
                    CoordinatedShutdown.PhaseServiceRequestsDone,
                    "twyla-drain-listeners",
                    async () =>
                    {
                        await DrainAsync(CancellationToken.None).ConfigureAwait(false);
                        return Done.Instance;
                    });
            }

            var materializer = _materializer.GetAsync(() => system);
            var outcomes = Outcomes(definition);
            var listener = new HostedListener(
                definition.Pattern,
                definition.Group,
                definition.PayloadType,
                settings,
                () => definition.CreateGraph(bus, _services, settings, outcomes).Run(materializer.Result), // completed before Start()
                _loggerFactory.CreateLogger("Twyla.Streams.Hosting.Listener"));
            _listeners.Add(listener);
            _starts.Add(DeclareAndStartAsync(definition, bus, settings, listener, materializer));
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Completes when every listener registered so far has its queue declared (or its declaration failed and was
    /// logged) and its graph started; fails when a listener could not be started. The host counts as started only then.
    /// </summary>
    public Task WhenStartedAsync()
    {
        lock (_gate)
        {
            return Task.WhenAll(_starts);
        }
    }

    /// <summary>How long host start waits for a listener's queue before it starts the listener anyway (it retries).</summary>
    internal static readonly TimeSpan DeclareTimeout = TimeSpan.FromSeconds(5);

    private async Task DeclareAndStartAsync(
        IListenerDefinition definition, EventBus bus, ListenerSettings settings, HostedListener listener, Task<IMaterializer> materializer)
    {
        await Task.Yield(); // off the start-up task's thread: the next listener's declaration begins at once
        try
        {
            // The host waits DeclareTimeout for the queue, whether or not the declaration honours its token: a broker
            // that accepts the connection but does not answer holds the connection's handshake for its own 10 s.
            using var declareTimeout = new CancellationTokenSource(DeclareTimeout);
            var declare = bus.DeclareGroupAsync(definition.Pattern, definition.Group, settings.Listen, declareTimeout.Token);
            _ = declare.ContinueWith(
                static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
            await declare.WaitAsync(declareTimeout.Token).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // the listener's own start retries with backoff; the service starts anyway
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.DeclareFailed(ex, definition.Pattern, definition.Group);
        }

        await materializer.ConfigureAwait(false);
        listener.Start();
        _logger.ListenerStarted(definition.Pattern, definition.Group, bus.TransportDescription, settings.Ack.Parallelism, settings.Listen.Prefetch);
    }

    /// <summary>Drains every listener in parallel; runs once, later calls return the same task.</summary>
    public Task DrainAsync(CancellationToken abort)
    {
        lock (_gate)
        {
            return _drain ??= DrainAllAsync(abort);
        }
    }

    private async Task DrainAllAsync(CancellationToken abort)
    {
        await Task.Yield();
        var listeners = Listeners;
        if (listeners.Count > 0)
        {
            _logger.Draining(listeners.Count);
        }

        await Task.WhenAll(listeners.Select(l => l.DrainAsync(abort))).ConfigureAwait(false);
        if (listeners.Count > 0)
        {
            _logger.Drained();
        }
    }

    private Sink<HandledEvent, Task<Done>> Outcomes(IListenerDefinition definition)
    {
        var logger = _loggerFactory.CreateLogger("Twyla.Streams.Hosting.Listener");
        return Sink.ForEach<HandledEvent>(handled =>
        {
            switch (handled.Settlement)
            {
                case SettleKind.Reject:
                    logger.HandlerFailed(definition.Pattern, definition.Group, handled.Metadata.Id, handled.Metadata.Name, handled.DeliveryCount, handled.Reason);
                    break;
                case SettleKind.Drop:
                    // Also a drop the handler made itself (DropAsync): every dead letter shows in the logs.
                    logger.DeadLettered(handled.Metadata.Id, handled.Metadata.Name, definition.Pattern, definition.Group, handled.DeliveryCount, handled.Reason);
                    break;
            }
        });
    }
}
