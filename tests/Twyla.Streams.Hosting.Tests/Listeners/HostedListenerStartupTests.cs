using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Twyla.Streams.Testing;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Listeners;

public sealed class HostedListenerStartupTests
{
    private const int Listeners = 5;

    /// <summary>Only reached by a hang (a start-up that declares one queue after another).</summary>
    private static readonly TimeSpan Hang = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Host_start_should_declare_every_listeners_queue_at_once_and_return_only_when_all_exist()
    {
        var transport = new GatedDeclarations(Listeners);
        await using var bus = new EventBus(transport, EventBusSettings.Create("startup-tests"));
        var received = new Recorder<string>();
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(bus);
        builder.AddTwyla(akka =>
        {
            for (var i = 0; i < Listeners; i++)
            {
                var group = $"group-{i}";
                akka.WithTwylaListener<Booking>($"booking.created-{i}", group, _ =>
                {
                    received.Record(group);
                    return Task.CompletedTask;
                });
            }
        });
        using var host = builder.Build();

        var start = host.StartAsync(CancellationToken.None);

        // One listener's declaration held at the gate must not keep the others from declaring (a start-up that
        // declares one queue after another never gets here and hangs).
        await transport.AllWaiting.WaitAsync(Hang);
        Assert.False(start.IsCompleted, "the host counted as started before the listeners' queues existed");

        transport.Open();
        await start.WaitAsync(Hang);

        // Every queue existed and every listener consumes once the host started.
        await Task.WhenAll(Enumerable.Range(0, Listeners).Select(i => bus.EmitAsync($"booking.created-{i}", new Booking($"b-{i}", i))));
        await received.WhenCountAsync(Listeners);
        Assert.Equal(Enumerable.Range(0, Listeners).Select(i => $"group-{i}"), received.Items.Order());
        await host.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task Host_start_should_stop_waiting_for_a_declaration_that_never_answers_and_the_listener_should_consume()
    {
        // A declaration that ignores its token and never ends (as one to a broker that accepts the connection but does
        // not answer): before, host start awaited it for as long as it lasted.
        var transport = new GatedDeclarations(1);
        await using var bus = new EventBus(transport, EventBusSettings.Create("startup-tests"));
        var received = new Recorder<string>();
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(bus);
        builder.AddTwyla(akka => akka.WithTwylaListener<Booking>("booking.stuck", "stuck", e =>
        {
            received.Record(e.Payload.Id);
            return Task.CompletedTask;
        }));
        using var host = builder.Build();

        await host.StartAsync(CancellationToken.None).WaitAsync(Hang);
        await transport.AllWaiting.WaitAsync(Hang);

        // The listener started anyway and declares its own topology when its consumer starts (when is not signalled
        // to the host's caller here: its queue was not declared in time), so emit until an event reaches it.
        await Poll.Eventually(
            async () =>
            {
                await bus.EmitAsync("booking.stuck", new Booking("b-stuck", 1));
                return received.Count;
            },
            count => count > 0,
            Hang);
        transport.Open();
        await host.StopAsync(CancellationToken.None);
    }
}
