using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Events;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.TestKit.Tests.Probes;

/// <summary>Bus probes on the in-memory bus: what is emitted, and what a listener group does with its events.</summary>
public sealed class BusProbeTests : Akka.TestKit.Xunit2.TestKit, IAsyncLifetime
{
    private readonly EventBus _bus = EventBus.InMemory(EventBusSettings.Create("probe-tests"));

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync() => await _bus.DisposeAsync();

    [Fact]
    public async Task An_emitted_probe_should_see_an_event_emitted_right_after_it_was_created()
    {
        var probes = new BusProbe(this, _bus);
        var confirmed = await probes.EmittedAsync<BookingConfirmed>("booking.*");

        // No DeclareGroupAsync first: the probe waited for its listener to consume before it was handed out.
        var emitted = await _bus.EmitAsync("booking.confirmed", new BookingConfirmed("A1", "Ada"));

        var seen = confirmed.RequestNext();
        Assert.Equal(emitted.Id, seen.Metadata.Id);
        Assert.Equal(new BookingConfirmed("A1", "Ada"), seen.Payload);
        confirmed.Request(1);
        confirmed.ExpectNoMsg(TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task Two_emitted_probes_should_each_see_every_event()
    {
        var probes = new BusProbe(this, _bus);
        var first = await probes.EmittedAsync<BookingConfirmed>("booking.confirmed");
        var second = await probes.EmittedAsync<BookingConfirmed>("booking.confirmed");

        var emitted = await _bus.EmitAsync("booking.confirmed", new BookingConfirmed("A1", "Ada"));

        Assert.Equal(emitted.Id, first.RequestNext().Metadata.Id);
        Assert.Equal(emitted.Id, second.RequestNext().Metadata.Id);
    }

    [Fact]
    public async Task A_listener_probe_should_see_events_consumed_rejected_redelivered_and_dead_lettered()
    {
        var probes = new BusProbe(this, _bus);
        using var listener = probes.Listener("booking.requested", "confirmer");
        var retryNow = ListenSettings.Default.WithRetryDelays([TimeSpan.FromMilliseconds(10)]);
        var control = _bus.Listen<BookingRequested>("booking.requested", "confirmer", retryNow)
            .To(AckOnCompletion.Sink<BookingRequested>(
                e => e.Payload.Pnr == "FAIL" ? throw new InvalidOperationException("navitaire is down") : Task.CompletedTask,
                AckOnCompletionSettings.Default.WithMaxDeliveries(2)))
            .Run(Sys.Materializer());
        await control.Ready.WaitAsync(TimeSpan.FromSeconds(10));

        var ok = await _bus.EmitAsync("booking.requested", new BookingRequested("A1", 2));
        var failing = await _bus.EmitAsync("booking.requested", new BookingRequested("FAIL", 1));
        var invalid = await _bus.EmitAsync("booking.requested", new { pnr = "NO-SEATS" });

        Assert.Equal(1, listener.ExpectConsumed(ok.Id).DeliveryCount);
        Assert.Equal("InvalidOperationException: navitaire is down", listener.ExpectRejected(failing.Id));
        Assert.Equal(2, listener.ExpectRedelivered(failing.Id).DeliveryCount);
        Assert.Equal("handler failed on delivery 2 of 2: InvalidOperationException: navitaire is down", listener.ExpectDeadLettered(failing.Id));
        Assert.Contains("missing required properties including: 'seats'", listener.ExpectDeadLettered(invalid.Id), StringComparison.Ordinal);
        await control.DrainAsync();
    }

    [Fact]
    public async Task A_listener_probe_should_fail_at_once_when_the_event_took_another_way()
    {
        var probes = new BusProbe(this, _bus);
        using var listener = probes.Listener("booking.requested", "strict");
        var control = _bus.Listen<BookingRequested>("booking.requested", "strict")
            .To(Sink.ForEach<Event<BookingRequested>>(e => e.DropAsync("not today")))
            .Run(Sys.Materializer());
        await control.Ready.WaitAsync(TimeSpan.FromSeconds(10));

        var dropped = await _bus.EmitAsync("booking.requested", new BookingRequested("A1", 2));

        var failure = Assert.Throws<TwylaAssertionException>(() => listener.ExpectConsumed(dropped.Id, TimeSpan.FromSeconds(10)));
        Assert.Contains($"Expected event {dropped.Id} to be consumed in queue 'booking.requested.strict', but it was DeadLettered", failure.Message, StringComparison.Ordinal);
        Assert.Contains("DeadLettered", failure.Message, StringComparison.Ordinal);
        Assert.Contains("not today", failure.Message, StringComparison.Ordinal);
        await control.ShutdownAsync();
    }

    [Fact]
    public async Task A_listener_probe_should_fail_after_the_timeout_when_nothing_happens_to_the_event()
    {
        var probes = new BusProbe(this, _bus);
        using var listener = probes.Listener("booking.requested", "nobody");
        await _bus.DeclareGroupAsync("booking.requested", "nobody", ListenSettings.Default);

        var waiting = await _bus.EmitAsync("booking.requested", new BookingRequested("A1", 2));

        var failure = Assert.Throws<TwylaAssertionException>(() => listener.ExpectConsumed(waiting.Id, TimeSpan.FromMilliseconds(200)));
        Assert.Contains("it was not within", failure.Message, StringComparison.Ordinal);
        Assert.Contains("The queue did nothing with it.", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Steps_of_other_events_read_while_waiting_should_be_kept_for_later_expectations()
    {
        var probes = new BusProbe(this, _bus);
        using var listener = probes.Listener("booking.requested", "ordered");
        var control = _bus.Listen<BookingRequested>("booking.requested", "ordered")
            .To(AckOnCompletion.Sink<BookingRequested>(_ => Task.CompletedTask, AckOnCompletionSettings.Default))
            .Run(Sys.Materializer());
        await control.Ready.WaitAsync(TimeSpan.FromSeconds(10));

        var first = await _bus.EmitAsync("booking.requested", new BookingRequested("A1", 2));
        var second = await _bus.EmitAsync("booking.requested", new BookingRequested("A2", 2));

        listener.ExpectConsumed(second.Id);
        listener.ExpectConsumed(first.Id, TimeSpan.FromMilliseconds(100)); // read while waiting for the second
        await control.DrainAsync();
    }

    [Fact]
    public async Task A_listener_probe_should_refuse_a_bus_that_is_not_in_memory()
    {
        await using var rabbit = EventBus.RabbitMq(RabbitMqSettings.Create(), EventBusSettings.Create("probe-tests"));

        var refused = Assert.Throws<InvalidOperationException>(() => new BusProbe(this, rabbit).Listener("booking.requested", "confirmer"));

        Assert.Contains("in-memory", refused.Message, StringComparison.Ordinal);
    }
}
