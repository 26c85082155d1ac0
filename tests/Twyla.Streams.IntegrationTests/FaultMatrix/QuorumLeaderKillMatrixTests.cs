using Twyla.Streams.Events;
using Twyla.Streams.Rpc;
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

    [Fact]
    public async Task Quorum_leader_node_killed_should_keep_a_hosted_listener_handling_every_confirmed_event_and_MapRpcFlow_answering()
    {
        var cluster = fixture.Cluster;
        var rabbit = Broker.Settings(cluster.Nodes[0].Uri).WithClusterHosts(cluster.Hosts.Skip(1));
        await using var emitter = Bus(rabbit);
        await using var host = await HostedEntryPoints.StartAsync(
            cluster.Nodes[0].Uri, cluster.Hosts.Skip(1), rabbit.Exchange, QueueType.Quorum, Documented.Recovery);
        await emitter.DeclareGroupAsync(HostedEntryPoints.Pattern, host.Group, ListenSettings.Default.WithQueueType(QueueType.Quorum));
        var confirmed = new System.Collections.Concurrent.ConcurrentDictionary<int, byte>();
        async Task EmitAsync(int n)
        {
            await emitter.EmitAsync(HostedEntryPoints.Pattern, new Booked(n)).WaitAsync(Documented.Hang);
            confirmed.TryAdd(n, 0);
        }

        for (var n = 1; n <= 10; n++)
        {
            await EmitAsync(n);
        }

        Assert.IsType<RpcResult<Billed>.Success>(await host.CallAsync(1).WaitAsync(Documented.Hang));
        var leader = await cluster.LeaderOfAsync(host.Queue);
        TestOutput.WriteLine($"leader of {host.Queue}: {leader.Dir}");

        await leader.KillAsync();
        try
        {
            // During the election: emits fail or succeed, a call ends in one of its three results, never a hang.
            for (var n = 1000; n < 1010; n++)
            {
                try
                {
                    await EmitAsync(n);
                }
                catch (Emit.EmitException e)
                {
                    TestOutput.WriteLine($"emit {n} during the election failed: {e.Message}");
                }
            }

            var during = await host.CallAsync(2).WaitAsync(Documented.Recovery + Documented.Tolerance);
            TestOutput.WriteLine($"RPC call during the election: {during}");
        }
        finally
        {
            await leader.StartAsync();
        }

        // Calls that emit succeed again, every confirmed event is handled by the hosted listener, none dead-lettered.
        await TestEvents.Eventually(
            () => host.CallAsync(3), r => r is RpcResult<Billed>.Success, Documented.LeaderElection + Documented.Tolerance);
        for (var n = 2000; n < 2010; n++)
        {
            await EmitAsync(n);
        }

        await TestEvents.Eventually(
            () => Task.FromResult(confirmed.Keys.Where(n => !host.Handled.ContainsKey(n)).ToList()),
            missing => missing.Count == 0,
            TimeSpan.FromSeconds(120));
        var health = await TestEvents.Eventually(
            host.HealthAsync,
            h => h.Entries[Hosting.TwylaServiceCollectionExtensions.ListenersHealthCheckName].Status == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy,
            Documented.Hang);
        TestOutput.WriteLine($"listeners: {health.Entries[Hosting.TwylaServiceCollectionExtensions.ListenersHealthCheckName].Description}");
        Assert.Empty(await emitter.PeekDeadLettersAsync(HostedEntryPoints.Pattern, host.Group));
        TestOutput.WriteLine($"{confirmed.Count} confirmed, {host.Handled.Count} handled, {host.Handled.Values.Count(v => v > 1)} more than once");
    }
}
