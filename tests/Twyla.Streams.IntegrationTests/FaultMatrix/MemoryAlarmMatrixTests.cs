using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.IntegrationTests.Transport.RabbitMq;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.FaultMatrix;

/// <summary>
/// Fault matrix, a memory alarm: the broker stops reading from publishing connections, so nothing is confirmed. Emits
/// fail after the confirm timeout; the listener (on the bus's one connection, blocked too) stalls but does not fail;
/// once the alarm clears everything flows again and nothing confirmed is lost.
/// </summary>
[Collection(BrokerRestartCollection.Name)]
public class MemoryAlarmMatrixTests(ITestOutputHelper output, PrivateNode node) : FaultMatrixSpec(output)
{
    [Fact]
    public async Task Memory_alarm_should_fail_emits_after_the_confirm_timeout_and_every_entry_point_should_work_again_once_it_clears()
    {
        await using var bus = Bus(Broker.Settings(node.Uri));
        await using var run = await StartEntryPointsAsync(bus);

        await node.MemoryAlarmAsync(on: true);
        try
        {
            await run.AssertFailedAsync(emitAsyncFails: true, listenerFails: false);
        }
        finally
        {
            await node.MemoryAlarmAsync(on: false);
        }

        await run.AssertRecoveredAsync(DateTime.UtcNow);
    }
}
