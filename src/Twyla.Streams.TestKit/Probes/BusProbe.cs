using System.Threading.Channels;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.Streams.TestKit;
using Akka.TestKit;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.InMemory;

namespace Twyla.Streams.TestKit;

/// <summary>
/// Probes of an event bus for tests written with the Akka TestKit: what is emitted (<see cref="EmittedAsync{T}(string)"/>, a
/// <c>TestSubscriber.Probe</c> of the events), and what a listener group does with its events
/// (<see cref="Listener"/>: consumed, rejected, redelivered, dead-lettered, on the in-memory bus). The probes' streams
/// run on the TestKit's actor system, and their expectations use its timeouts; nothing sleeps.
/// </summary>
public sealed class BusProbe
{
    private readonly TestKitBase _testKit;
    private readonly IMaterializer _materializer;

    /// <summary>Probes of <paramref name="bus"/> whose expectations run on <paramref name="testKit"/>.</summary>
    /// <param name="testKit">The test (an Akka <c>TestKit</c>).</param>
    /// <param name="bus">The bus to watch: the test's own, or a test host's.</param>
    public BusProbe(TestKitBase testKit, EventBus bus)
    {
        ArgumentNullException.ThrowIfNull(testKit);
        ArgumentNullException.ThrowIfNull(bus);
        _testKit = testKit;
        Bus = bus;
        _materializer = testKit.Sys.Materializer();
    }

    /// <summary>The bus the probes watch.</summary>
    public EventBus Bus { get; }

    /// <summary>
    /// A probe of every event named <paramref name="pattern"/> emitted from now on: listens in a group of its own
    /// (<c>testkit-probe-…</c>, so it takes no event from the service's groups), acks what it receives, and completes
    /// once that listener is consuming (<see cref="IListenControl.Ready"/>), so an event emitted after the returned
    /// task completed cannot be missed. Payloads that do not parse into <typeparamref name="T"/> are dead-lettered in
    /// the probe's group, never handed to the probe (use <c>JsonElement</c> to see any payload).
    /// </summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="pattern">An event name (<c>booking.confirmed</c>) or pattern (<c>booking.*</c>, <c>booking.#</c>).</param>
    /// <returns>The probe: <c>RequestNext()</c> returns the next event, <c>ExpectNoMsg</c> asserts there is none.</returns>
    public Task<TestSubscriber.Probe<Event<T>>> EmittedAsync<T>(string pattern) => EmittedAsync<T>(pattern, _testKit.RemainingOrDefault);

    /// <summary>Like <see cref="EmittedAsync{T}(string)"/>, waiting up to <paramref name="readyTimeout"/> for the probe's listener.</summary>
    /// <typeparam name="T">The payload contract.</typeparam>
    /// <param name="pattern">An event name or pattern.</param>
    /// <param name="readyTimeout">How long the probe's listener may take to start consuming.</param>
    /// <returns>The probe.</returns>
    public async Task<TestSubscriber.Probe<Event<T>>> EmittedAsync<T>(string pattern, TimeSpan readyTimeout)
    {
        var group = "testkit-probe-" + Guid.NewGuid().ToString("N");
        var (control, probe) = Bus.Listen<T>(pattern, group)
            .SelectAsync(1, async e =>
            {
                await e.AckAsync().ConfigureAwait(false);
                return e;
            })
            .ToMaterialized(_testKit.SinkProbe<Event<T>>(), Keep.Both)
            .Run(_materializer);
        try
        {
            await control.Ready.WaitAsync(readyTimeout).ConfigureAwait(false);
        }
        catch (TimeoutException e)
        {
            _ = control.ShutdownAsync();
            throw new TwylaAssertionException($"The probe's listener for '{pattern}' did not start consuming within {readyTimeout}.", e);
        }

        return probe;
    }

    /// <summary>
    /// Watches the queue of listener group <paramref name="group"/> on <paramref name="pattern"/> from now on (create it
    /// before emitting): every delivery, ack, reject and dead letter, whoever listens there. In-memory bus only.
    /// </summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <returns>The probe; dispose it to stop watching.</returns>
    /// <exception cref="InvalidOperationException">The bus is not in-memory.</exception>
    public ListenerProbe Listener(string pattern, string group)
    {
        var queue = ListenerTopology.Create(pattern, group, QueueType.Classic).QueueName;
        if (Bus.Transport is not InMemoryTransport transport)
        {
            throw new InvalidOperationException(
                $"A listener probe watches the in-memory broker; this bus is on {Bus.TransportDescription}. Use EventBus.InMemory (or a TwylaTestHost) in the test.");
        }

        var activities = Channel.CreateUnbounded<ListenerActivity>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = false });
        var observation = transport.Broker.Observe(a =>
        {
            if (a.Queue == queue)
            {
                activities.Writer.TryWrite(new ListenerActivity(Kind(a.Kind), a.Metadata, a.DeliveryCount, a.Redelivered, a.Reason));
            }
        });
        var probe = ChannelSource.FromReader(activities.Reader).RunWith(_testKit.SinkProbe<ListenerActivity>(), _materializer);
        return new ListenerProbe(_testKit, pattern, group, probe, new Stop(observation, activities.Writer));
    }

    private static ListenerActivityKind Kind(InMemoryActivityKind kind) => kind switch
    {
        InMemoryActivityKind.Delivered => ListenerActivityKind.Delivered,
        InMemoryActivityKind.Acked => ListenerActivityKind.Consumed,
        InMemoryActivityKind.Rejected => ListenerActivityKind.Rejected,
        _ => ListenerActivityKind.DeadLettered,
    };

    private sealed class Stop(IDisposable observation, ChannelWriter<ListenerActivity> writer) : IDisposable
    {
        public void Dispose()
        {
            observation.Dispose();
            writer.TryComplete();
        }
    }
}
