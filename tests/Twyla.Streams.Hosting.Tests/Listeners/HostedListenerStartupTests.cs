using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Twyla.Streams.Hosting.Tests.Infrastructure;
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
}
