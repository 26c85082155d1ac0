using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Events;

namespace Twyla.Streams.Hosting.Tests.Infrastructure;

/// <summary>Reads what a listener group's queue holds, with an actor system of its own (the host's has stopped).</summary>
public static class QueueReader
{
    /// <summary>Takes <paramref name="count"/> events from the group's queue and acks them.</summary>
    public static async Task<IReadOnlyList<Event<Booking>>> TakeAsync(EventBus bus, string pattern, string group, int count)
    {
        using var system = ActorSystem.Create("reader-" + Guid.NewGuid().ToString("N")[..8]);
        var events = await bus.Listen<Booking>(pattern, group)
            .SelectAsync(1, async e =>
            {
                await e.AckAsync();
                return e;
            })
            .Take(count)
            .RunWith(Sink.Seq<Event<Booking>>(), system.Materializer())
            .WaitAsync(TimeSpan.FromSeconds(15));
        await system.Terminate();
        return events;
    }
}
