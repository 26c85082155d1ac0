using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.Tests.Transport.InMemory;

/// <summary>Two services of one process on one embedded broker (<c>EventBus.InMemory(settings, sharedWith)</c>).</summary>
public sealed class SharedInMemoryBrokerTests : TestKit
{
    [Fact]
    public async Task Events_emitted_on_one_bus_should_reach_a_listener_of_the_other_and_disposing_one_should_stop_only_its_own_listeners()
    {
        var mat = Sys.Materializer();
        await using var first = EventBus.InMemory(EventBusSettings.Create("first"));
        var second = EventBus.InMemory(EventBusSettings.Create("second"), first);
        var got = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        var onFirst = first.Listen<BookingRequested>("booking.requested", "on-first").To(Sink.Ignore<Event<BookingRequested>>()).Run(mat);
        var onSecond = second.Listen<BookingRequested>("booking.requested", "on-second")
            .Via(AckOnCompletion.Flow<BookingRequested>(e =>
            {
                got.TrySetResult(e.Payload.Pnr);
                return Task.CompletedTask;
            }, AckOnCompletionSettings.Default))
            .To(Sink.Ignore<HandledEvent>())
            .Run(mat);
        await Task.WhenAll(onFirst.Ready, onSecond.Ready).WaitAsync(TimeSpan.FromSeconds(10));

        await first.EmitAsync("booking.requested", new BookingRequested("PNR1", 1));
        Assert.Equal("PNR1", await got.Task.WaitAsync(TimeSpan.FromSeconds(10)));

        await second.DisposeAsync();
        await Assert.ThrowsAnyAsync<Exception>(() => onSecond.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.False(onFirst.Completion.IsCompleted);
        await first.EmitAsync("booking.requested", new BookingRequested("PNR2", 1)); // the broker is still there
    }

    [Fact]
    public async Task Only_an_in_memory_bus_should_share_its_broker()
    {
        await using var rabbit = EventBus.RabbitMq(RabbitMqSettings.FromUri("amqp://localhost:1/"), EventBusSettings.Create("rabbit"));

        var refused = Assert.Throws<ArgumentException>(() => EventBus.InMemory(EventBusSettings.Create("other"), rabbit));

        Assert.Contains("localhost:1", refused.Message, StringComparison.Ordinal);
    }
}
