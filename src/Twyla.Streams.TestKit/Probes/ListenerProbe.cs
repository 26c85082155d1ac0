using System.Diagnostics;
using Akka.Streams.TestKit;
using Akka.TestKit;
using Twyla.Streams.Events;

namespace Twyla.Streams.TestKit;

/// <summary>
/// Watches what happens to the events of one listener group's queue on the in-memory bus (delivered, consumed,
/// rejected, dead-lettered), whoever listens there: a service's hosted listener, or a pipeline under test. Created by
/// <see cref="BusProbe.Listener"/> before the events are emitted, it sees every step from then on, in order.
/// The <c>Expect*</c> methods look for one event by id, skip the steps of other events, fail at once when the event
/// took another way, and wait at most the TestKit's remaining time (<c>Within</c>) or its single-expect default.
/// </summary>
public sealed class ListenerProbe : IDisposable
{
    private readonly TestKitBase _testKit;
    private readonly IDisposable _observation;
    private readonly List<ListenerActivity> _seen = [];

    internal ListenerProbe(TestKitBase testKit, string pattern, string group, TestSubscriber.Probe<ListenerActivity> probe, IDisposable observation)
    {
        _testKit = testKit;
        _observation = observation;
        Pattern = pattern;
        Group = group;
        Probe = probe;
    }

    /// <summary>The pattern the group listens to.</summary>
    public string Pattern { get; }

    /// <summary>The listener group.</summary>
    public string Group { get; }

    /// <summary>Every step of every event of the queue, as an Akka.Streams TestKit probe (for expectations of your own).</summary>
    public TestSubscriber.Probe<ListenerActivity> Probe { get; }

    /// <summary>Waits for the event with id <paramref name="eventId"/> to be consumed (acked) by the group.</summary>
    /// <param name="eventId">The event's id (<see cref="EventMetadata.Id"/>, e.g. what <c>EmitAsync</c> returned).</param>
    /// <returns>The ack.</returns>
    /// <exception cref="TwylaAssertionException">It was dead-lettered, or not consumed in time.</exception>
    public ListenerActivity ExpectConsumed(string eventId) => ExpectConsumed(eventId, null);

    /// <summary>Waits up to <paramref name="timeout"/> for the event with id <paramref name="eventId"/> to be consumed (acked).</summary>
    /// <param name="eventId">The event's id.</param>
    /// <param name="timeout">How long to wait; <c>null</c> for the TestKit's remaining time or single-expect default.</param>
    /// <returns>The ack.</returns>
    /// <exception cref="TwylaAssertionException">It was dead-lettered, or not consumed in time.</exception>
    public ListenerActivity ExpectConsumed(string eventId, TimeSpan? timeout) =>
        Expect(eventId, "consumed", timeout, a => a.Kind switch
        {
            ListenerActivityKind.Consumed => true,
            ListenerActivityKind.DeadLettered => false,
            _ => null,
        });

    /// <summary>Waits for the event with id <paramref name="eventId"/> to be dead-lettered.</summary>
    /// <param name="eventId">The event's id.</param>
    /// <returns>The reason it was dead-lettered.</returns>
    /// <exception cref="TwylaAssertionException">It was consumed, or not dead-lettered in time.</exception>
    public string ExpectDeadLettered(string eventId) => ExpectDeadLettered(eventId, null);

    /// <summary>Waits up to <paramref name="timeout"/> for the event with id <paramref name="eventId"/> to be dead-lettered.</summary>
    /// <param name="eventId">The event's id.</param>
    /// <param name="timeout">How long to wait; <c>null</c> for the TestKit's remaining time or single-expect default.</param>
    /// <returns>The reason it was dead-lettered.</returns>
    /// <exception cref="TwylaAssertionException">It was consumed, or not dead-lettered in time.</exception>
    public string ExpectDeadLettered(string eventId, TimeSpan? timeout) =>
        Expect(eventId, "dead-lettered", timeout, a => a.Kind switch
        {
            ListenerActivityKind.DeadLettered => true,
            ListenerActivityKind.Consumed => false,
            _ => null,
        }).Reason!;

    /// <summary>Waits for the event with id <paramref name="eventId"/> to be rejected (it will be delivered again).</summary>
    /// <param name="eventId">The event's id.</param>
    /// <returns>The reason it was rejected.</returns>
    /// <exception cref="TwylaAssertionException">It was consumed or dead-lettered first, or not rejected in time.</exception>
    public string ExpectRejected(string eventId) => ExpectRejected(eventId, null);

    /// <summary>Waits up to <paramref name="timeout"/> for the event with id <paramref name="eventId"/> to be rejected.</summary>
    /// <param name="eventId">The event's id.</param>
    /// <param name="timeout">How long to wait; <c>null</c> for the TestKit's remaining time or single-expect default.</param>
    /// <returns>The reason it was rejected.</returns>
    /// <exception cref="TwylaAssertionException">It was consumed or dead-lettered first, or not rejected in time.</exception>
    public string ExpectRejected(string eventId, TimeSpan? timeout) =>
        Expect(eventId, "rejected", timeout, a => a.Kind switch
        {
            ListenerActivityKind.Rejected => true,
            ListenerActivityKind.Consumed or ListenerActivityKind.DeadLettered => false,
            _ => null,
        }).Reason!;

    /// <summary>Waits for the event with id <paramref name="eventId"/> to be delivered again (after a reject, or after its listener stopped).</summary>
    /// <param name="eventId">The event's id.</param>
    /// <returns>The redelivery (its delivery count and the previous failure's reason are in the event's next delivery).</returns>
    /// <exception cref="TwylaAssertionException">It was consumed or dead-lettered first, or not redelivered in time.</exception>
    public ListenerActivity ExpectRedelivered(string eventId) => ExpectRedelivered(eventId, null);

    /// <summary>Waits up to <paramref name="timeout"/> for the event with id <paramref name="eventId"/> to be delivered again.</summary>
    /// <param name="eventId">The event's id.</param>
    /// <param name="timeout">How long to wait; <c>null</c> for the TestKit's remaining time or single-expect default.</param>
    /// <returns>The redelivery.</returns>
    /// <exception cref="TwylaAssertionException">It was consumed or dead-lettered first, or not redelivered in time.</exception>
    public ListenerActivity ExpectRedelivered(string eventId, TimeSpan? timeout) =>
        Expect(eventId, "redelivered", timeout, a => a.Kind switch
        {
            ListenerActivityKind.Delivered when a.Redelivered => true,
            ListenerActivityKind.Consumed or ListenerActivityKind.DeadLettered => false,
            _ => null,
        });

    /// <summary>Stops watching the queue.</summary>
    public void Dispose() => _observation.Dispose();

    private ListenerActivity Expect(string eventId, string what, TimeSpan? timeout, Func<ListenerActivity, bool?> verdict)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventId);
        var max = _testKit.RemainingOrDilated(timeout);
        var start = Stopwatch.GetTimestamp();
        var steps = new List<ListenerActivity>();
        lock (_seen)
        {
            // Steps of this event read by an earlier expectation (while it looked for another event) come first; each
            // expectation takes the steps up to the one it was looking for and leaves the later ones for the next.
            for (var i = 0; i < _seen.Count; i++)
            {
                var earlier = _seen[i];
                if (earlier.Metadata.Id != eventId)
                {
                    continue;
                }

                _seen.RemoveAt(i--);
                steps.Add(earlier);
                switch (verdict(earlier))
                {
                    case true:
                        return earlier;
                    case false:
                        throw Failed(eventId, what, steps, $"it was {earlier.Kind}");
                }
            }
        }

        while (true)
        {
            var remaining = max - Stopwatch.GetElapsedTime(start);
            if (remaining <= TimeSpan.Zero)
            {
                throw Failed(eventId, what, steps, $"it was not within {max}");
            }

            ListenerActivity next;
            try
            {
                next = Probe.RequestNext(remaining);
            }
#pragma warning disable CA1031 // the TestKit's own timeout failure is turned into one that says what was seen
            catch (Exception e) when (e is not TwylaAssertionException)
#pragma warning restore CA1031
            {
                throw Failed(eventId, what, steps, $"it was not within {max}", e);
            }

            if (next.Metadata.Id != eventId)
            {
                lock (_seen)
                {
                    _seen.Add(next);
                }

                continue;
            }

            steps.Add(next);
            switch (verdict(next))
            {
                case true:
                    return next;
                case false:
                    throw Failed(eventId, what, steps, $"it was {next.Kind}");
            }
        }
    }

    private TwylaAssertionException Failed(string eventId, string what, List<ListenerActivity> steps, string outcome, Exception? cause = null)
    {
        var message = $"Expected event {eventId} to be {what} in queue '{Pattern}.{Group}', but {outcome}. " +
                      (steps.Count == 0 ? "The queue did nothing with it." : "Its steps: " + string.Join("; ", steps) + ".");
        return cause is null ? new TwylaAssertionException(message) : new TwylaAssertionException(message, cause);
    }
}
