using System.Diagnostics;
using Twyla.Streams.Emit;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.IntegrationTests.Transport.RabbitMq;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.EndToEnd;

/// <summary>
/// <c>EmitAsync</c> shares one publisher between calls. A broker restart closes its channel, which the publish reports
/// as an <see cref="EmitException"/>; the bus must open another publisher by itself for the next call.
/// </summary>
[Collection(BrokerRestartCollection.Name)]
public class RabbitMqEmitAsyncRecoveryTests(ITestOutputHelper output, PrivateNode node)
{
    [Fact]
    public async Task EmitAsync_should_work_again_by_itself_after_the_broker_was_killed_and_restarted()
    {
        await using var bus = EventBus.RabbitMq(Broker.Settings(node.Uri), EventBusSettings.Create("emit-recovery"));
        await bus.EmitAsync("booking.created", new { n = 0 });

        await node.KillAsync();
        try
        {
            // While the broker is down every call fails with the documented type, naming the event; none hangs.
            var failure = await Assert.ThrowsAsync<EmitException>(() => bus.EmitAsync("booking.created", new { n = 1 }));
            output.WriteLine($"while down: {failure.Message}");
            Assert.Contains("booking.created", failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            await node.StartAsync();
        }

        // Once the broker is back the next calls succeed: no restart, no new bus.
        var clock = Stopwatch.StartNew();
        Exception? last = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(15))
        {
            try
            {
                await bus.EmitAsync("booking.created", new { n = 2 });
                last = null;
                break;
            }
            catch (EmitException ex)
            {
                last = ex;
                await Task.Delay(200);
            }
        }

        Assert.Null(last);
        output.WriteLine($"first emit confirmed {clock.Elapsed} after the broker started again");
        for (var i = 0; i < 20; i++)
        {
            await bus.EmitAsync("booking.created", new { n = 3 + i });
        }
    }
}
