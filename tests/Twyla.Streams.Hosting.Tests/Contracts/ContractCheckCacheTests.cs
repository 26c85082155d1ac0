using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Twyla.Streams.Emit;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Twyla.Streams.Testing;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Contracts;

/// <summary>
/// Issue 10: the check before emit uses cached contracts; it must not turn each emit into a read of the contract log
/// (a broker round trip on RabbitMQ).
/// </summary>
public sealed class ContractCheckCacheTests
{
    /// <summary>Only reached by a hang.</summary>
    private static readonly TimeSpan Hang = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task Checked_emits_should_read_the_contract_log_once_not_once_per_event()
    {
        var transport = new GatedDeclarations(1);
        transport.Open();
        await using var bus = new EventBus(transport, EventBusSettings.Create("cache-tests"));
        var received = new Recorder<string>();
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddSingleton(bus);
        builder.AddTwyla(akka => akka.WithTwylaListener<Booking>("booking.checked", "checker", e =>
        {
            received.Record(e.Payload.Id);
            return Task.CompletedTask;
        }));
        using var host = builder.Build();
        await host.StartAsync(CancellationToken.None).WaitAsync(Hang);
        await Poll.Eventually(() => bus.DiscoverContractsAsync("booking.checked"), d => d.Groups.Count == 1, Hang);
        var checking = EmitSettings.Default.WithContractCheck(true);
        const int count = 50;

        var before = transport.ContractReads;
        for (var i = 0; i < count; i++)
        {
            await bus.EmitAsync(OutgoingEvent.Create("booking.checked", new Booking($"b-{i}", i)), checking, CancellationToken.None);
        }

        // The check did run on these emits: a payload the group would dead-letter is refused.
        await Assert.ThrowsAsync<EmitException>(() => bus.EmitAsync(OutgoingEvent.Create("booking.checked", new { N = 1 }), checking, CancellationToken.None));

        var reads = transport.ContractReads - before;
        await received.WhenCountAsync(count);
        // One load of the cache, and at most one background refresh on a very slow machine; without a cache, 50.
        Assert.InRange(reads, 0, 2);
        await host.StopAsync(CancellationToken.None);
    }
}
