using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.IntegrationTests.Transport.RabbitMq;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.FaultMatrix;

/// <summary>
/// Fault matrix, the connection closed by the broker (<c>rabbitmqctl close_all_connections</c>, as an operator or a
/// node under maintenance does): every entry point at once. On the node of the broker restarts: closing every
/// connection of the shared node would disturb the other test projects.
/// </summary>
[Collection(BrokerRestartCollection.Name)]
public class ConnectionClosedMatrixTests(ITestOutputHelper output, PrivateNode node) : FaultMatrixSpec(output)
{
    [Fact]
    public async Task Connection_closed_by_the_broker_should_fail_each_running_stream_as_documented_and_each_entry_point_should_recover_by_itself()
    {
        await using var bus = Bus(Broker.Settings(node.Uri));
        await using var run = await StartEntryPointsAsync(bus);

        await node.Node.CloseAllConnectionsAsync();
        var closedAt = DateTime.UtcNow;

        // The broker answers at once again, so an EmitAsync call may or may not catch the closed channel.
        await run.AssertFailedAsync(emitAsyncFails: false, listenerFails: true);
        await run.AssertRecoveredAsync(closedAt);
    }
}
