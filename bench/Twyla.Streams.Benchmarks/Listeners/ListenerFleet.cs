using System.Diagnostics;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Benchmarks.Events;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.Benchmarks.Listeners;

/// <summary>
/// One side of the benchmark: a service's bus of its own (default settings, the connection name tells its connections
/// apart on the broker) with one or many listeners, each in a group of its own on an event name of its own, running
/// <see cref="AckOnCompletion"/> with a trivial handler. The clock of the start-up runs from the first materialization
/// to the moment every listener's <see cref="IListenControl.Ready"/> completed.
/// </summary>
internal sealed class ListenerFleet : IAsyncDisposable
{
    public const string Group = "listeners";

    private readonly List<IListenControl> _controls;
    private readonly TaskCompletionSource<long> _allHandled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly int _expected;
    private long _handled;

    private ListenerFleet(EventBus bus, IReadOnlyList<string> eventNames, int expected)
    {
        Bus = bus;
        EventNames = eventNames;
        _expected = expected;
        _controls = new List<IListenControl>(eventNames.Count);
    }

    public EventBus Bus { get; }

    /// <summary>The event names, one per listener.</summary>
    public IReadOnlyList<string> EventNames { get; }

    /// <summary>From the first materialization to every listener ready.</summary>
    public TimeSpan StartUp { get; private set; }

    /// <summary>Completes with the time at which the <c>expected</c>-th event (over all listeners) was acked.</summary>
    public Task<long> AllHandled => _allHandled.Task;

    /// <summary>
    /// Starts one listener per event name on a new bus and returns once all are ready; the fleet then expects
    /// <paramref name="expected"/> events in total.
    /// </summary>
    public static async Task<ListenerFleet> StartAsync(
        string uri, string exchange, string connectionName, ILoggerFactory logging, IMaterializer materializer,
        IReadOnlyList<string> eventNames, int expected, ListenersOptions options)
    {
        var start = Stopwatch.GetTimestamp();
        var bus = EventBus.RabbitMq(
            RabbitMqSettings.FromUri(uri).WithExchange(exchange).WithConnectionName(connectionName),
            EventBusSettings.Create("twyla-bench-listeners").WithLoggerFactory(logging));
        var fleet = new ListenerFleet(bus, eventNames, expected);
        var listen = ListenSettings.Default.WithPrefetch(options.Prefetch);
        var ack = AckOnCompletionSettings.Default.WithParallelism(options.Parallelism);
        foreach (var name in eventNames)
        {
            var (control, handled) = bus.Listen<BookingConfirmed>(name, Group, listen)
                .Via(AckOnCompletion.Flow<BookingConfirmed>(_ => Task.CompletedTask, ack))
                .ToMaterialized(Sink.ForEach<HandledEvent>(fleet.Count), Keep.Both)
                .Run(materializer);
            fleet._controls.Add(control);
            _ = control.Completion.ContinueWith(t => fleet.Fail(t.Exception!), TaskContinuationOptions.OnlyOnFaulted);
            _ = handled.ContinueWith(t => fleet.Fail(t.Exception!), TaskContinuationOptions.OnlyOnFaulted);
        }

        try
        {
            await Task.WhenAll(fleet._controls.Select(c => c.Ready)).WaitAsync(TimeSpan.FromMinutes(2));
        }
        catch
        {
            await fleet.DisposeAsync();
            throw;
        }

        fleet.StartUp = Stopwatch.GetElapsedTime(start);
        return fleet;
    }

    /// <summary>The queues and the router exchange a group of <paramref name="eventName"/> owns (for the clean-up).</summary>
    public static ListenerTopology Topology(string eventName) => ListenerTopology.Create(eventName, Group, ListenSettings.Default);

    public void Fail(Exception e) => _allHandled.TrySetException(e);

    /// <summary>Drains every listener at once, then closes the bus.</summary>
    public async ValueTask DisposeAsync()
    {
        try
        {
            await Task.WhenAll(_controls.Select(c => c.DrainAsync())).WaitAsync(TimeSpan.FromMinutes(1));
        }
        finally
        {
            await Bus.DisposeAsync();
        }
    }

    private void Count(HandledEvent handled)
    {
        if (handled.Settlement != SettleKind.Ack)
        {
            Fail(new InvalidOperationException($"event {handled.Metadata.Id} was {handled.Settlement}: {handled.Reason}"));
        }

        if (Interlocked.Increment(ref _handled) == _expected)
        {
            _allHandled.TrySetResult(Stopwatch.GetTimestamp());
        }
    }
}
