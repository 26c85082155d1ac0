using Akka.Hosting;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting.Listeners;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.RabbitMq;

public sealed class HostedListenerRabbitMqDrainTests(ITestOutputHelper output) : RabbitMqHostingSpec(output)
{
    private readonly string _group = Broker.UniqueGroup("billing");
    private readonly BlockingHandler _handler = new();

    protected override void ConfigureListeners(AkkaConfigurationBuilder builder) =>
        builder.WithTwylaListener<Booking>(
            Pattern, _group, _handler.HandleAsync, new TwylaListenerOptions { Parallelism = 50, Prefetch = 50, DrainTimeout = TimeSpan.FromSeconds(20) });

    [Fact]
    public async Task Host_shutdown_on_RabbitMq_should_ack_the_50_in_flight_events_once_finished_and_leave_the_undelivered_in_the_queue()
    {
        await using var reader = SecondBus();
        // The host declared the queue at start-up unless that took longer than its 5 s limit on a loaded machine (then
        // the listener declares it when it starts): declaring again is idempotent and makes sure no event is unroutable.
        await reader.DeclareGroupAsync(Pattern, _group, ListenSettings.Default, Ct);
        await Task.WhenAll(Enumerable.Range(1, 80).Select(n => reader.EmitAsync(Pattern, new Booking($"b-{n}", n))));
        await _handler.Started.WhenCountAsync(50);

        var stopping = Host.StopAsync(Ct);
        await AwaitConditionAsync(() => Task.FromResult(Listener(_group).State == ListenerState.Draining), TimeSpan.FromSeconds(5), cancellationToken: Ct);
        Assert.False(stopping.IsCompleted);
        Assert.Equal(0, _handler.Completed.Count);

        _handler.Release();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(50, _handler.Completed.Count);
        Assert.Equal(_handler.Started.Items.Order(), _handler.Completed.Items.Order());

        // The 50 were acked; the 30 beyond the prefetch were never delivered and wait in the queue, first delivery.
        await reader.EmitAsync(Pattern, new Booking("after-stop", 999));
        var left = await QueueReader.TakeAsync(reader, Pattern, _group, 31);
        Assert.Equal(Enumerable.Range(1, 80).Except(_handler.Completed.Items).Append(999).Order(), left.Select(e => e.Payload.N).Order());
        Assert.All(left, e => Assert.False(e.Redelivered));
    }
}
