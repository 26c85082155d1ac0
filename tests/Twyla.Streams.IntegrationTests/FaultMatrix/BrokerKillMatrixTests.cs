using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.IntegrationTests.Transport.RabbitMq;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.FaultMatrix;

/// <summary>Fault matrix, broker <c>kill -9</c> then restart: every entry point of the library at once (tests/README.md).</summary>
[Collection(BrokerRestartCollection.Name)]
public class BrokerKillMatrixTests(ITestOutputHelper output, PrivateNode node) : FaultMatrixSpec(output)
{
    [Fact]
    public async Task Broker_kill_9_should_fail_each_entry_point_as_documented_and_each_should_recover_by_itself_once_the_broker_is_back()
    {
        await using var bus = Bus(Broker.Settings(node.Uri));
        await using var run = await StartEntryPointsAsync(bus);

        await node.KillAsync();
        try
        {
            await run.AssertFailedAsync(emitAsyncFails: true, listenerFails: true);
        }
        finally
        {
            await node.StartAsync();
        }

        await run.AssertRecoveredAsync(DateTime.UtcNow);
    }
}
