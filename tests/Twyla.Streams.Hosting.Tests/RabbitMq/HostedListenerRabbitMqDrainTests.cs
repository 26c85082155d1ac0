using Akka.Hosting;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

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
        var left = await StopWhileFiftyHandlersRunAsync(reader, _handler, _group);

        // The 30 beyond the prefetch were never delivered: first delivery.
        Assert.All(left, e => Assert.False(e.Redelivered));
    }
}
