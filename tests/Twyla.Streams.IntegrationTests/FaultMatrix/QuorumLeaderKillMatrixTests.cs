using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.IntegrationTests.Transport.RabbitMq;
using Twyla.Streams.Testing;
using Twyla.Streams.Transport;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.FaultMatrix;

/// <summary>A local 3-node cluster of the test class's own (see <see cref="RabbitCluster"/>).</summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private RabbitCluster? _cluster;

    public RabbitCluster Cluster => _cluster ?? throw new InvalidOperationException("The RabbitMQ cluster did not start.");

    public async Task InitializeAsync() => _cluster = await RabbitCluster.StartNewAsync("cluster");

    public async Task DisposeAsync()
    {
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }
    }
}

/// <summary>
/// Fault matrix, the node holding a quorum queue's leader killed in a local 3-node cluster: every entry point at once
/// on a bus that knows the three nodes. Whether the clients see the fault depends on which node their connection went
/// to (RabbitMQ.Client picks among the hosts), so each failure must be the documented one, emits must succeed again
/// within the documented time, and nothing confirmed may be lost. In the collection of the broker restarts: three more
/// nodes beside the other tests are too many for a 2-core machine.
/// </summary>
[Collection(BrokerRestartCollection.Name)]
public class QuorumLeaderKillMatrixTests(ITestOutputHelper output, ClusterFixture fixture) : FaultMatrixSpec(output), IClassFixture<ClusterFixture>
{
    [Fact]
    public async Task Quorum_leader_node_killed_should_lose_no_confirmed_event_and_every_entry_point_should_carry_on_through_the_other_nodes()
    {
        var cluster = fixture.Cluster;
        await using var bus = Bus(Broker.Settings(cluster.Nodes[0].Uri).WithClusterHosts(cluster.Hosts.Skip(1)));
        await using var run = await StartEntryPointsAsync(bus, ListenSettings.Default.WithQueueType(QueueType.Quorum));
        var leader = await cluster.LeaderOfAsync(run.Queue);
        var connections = await cluster.Nodes[0].CtlAsync("list_connections", "--no-table-headers", "name");
        TestOutput.WriteLine($"leader of {run.Queue}: {leader.Dir}; connections: {connections}");

        await leader.KillAsync();
        var killedAt = DateTime.UtcNow;
        try
        {
            await run.AssertRecoveredAsync(killedAt, Documented.LeaderElection);
        }
        finally
        {
            await leader.StartAsync();
        }
    }
}
