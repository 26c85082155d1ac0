using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.Listeners;

public sealed class HostedListenerReceiveTests(ITestOutputHelper output) : TwylaHostingSpec(output)
{
    private readonly Recorder<Booking> _billing = new();

    protected override void ConfigureListeners(AkkaConfigurationBuilder builder) =>
        builder.WithTwylaListener<Booking>(Pattern, "billing", e =>
        {
            _billing.Record(e.Payload);
            return Task.CompletedTask;
        });

    [Fact]
    public async Task Hosted_listener_should_receive_events_and_ack_them()
    {
        await EmitAsync(1, 10);

        await _billing.WhenCountAsync(10);
        Assert.Equal(Enumerable.Range(1, 10), _billing.Items.Select(b => b.N).Order());

        // Acked: once the host stopped, the group's queue holds only what was emitted afterwards.
        await Host.StopAsync(Ct);
        await Bus.EmitAsync(Pattern, new Booking("after-stop", 99));
        var left = await QueueReader.TakeAsync(Bus, Pattern, "billing", 1);
        Assert.Equal(99, Assert.Single(left).Payload.N);
        Assert.False(left[0].Redelivered);
    }

    [Fact]
    public async Task Hosted_listener_in_another_group_on_a_second_host_should_also_receive_the_events()
    {
        var audit = new Recorder<Booking>();
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(Bus);
        builder.AddTwyla(akka => akka.WithTwylaScopedListener<Booking>(Pattern, "audit", (services, e) =>
        {
            Assert.Same(Bus, services.GetRequiredService<EventBus>());
            audit.Record(e.Payload);
            return Task.CompletedTask;
        }));
        using var second = builder.Build();
        await second.StartAsync(Ct);

        await EmitAsync(1, 5);

        await Task.WhenAll(_billing.WhenCountAsync(5), audit.WhenCountAsync(5));
        Assert.Equal(Enumerable.Range(1, 5), _billing.Items.Select(b => b.N).Order());
        Assert.Equal(Enumerable.Range(1, 5), audit.Items.Select(b => b.N).Order());

        // AddTwyla gives CoordinatedShutdown's drain phase the drain timeout (20 s by default) and some.
        var system = second.Services.GetRequiredService<ActorSystem>();
        Assert.Equal(TimeSpan.FromSeconds(25), CoordinatedShutdown.Get(system).Timeout(CoordinatedShutdown.PhaseServiceRequestsDone));
        await second.StopAsync(Ct);
    }
}
