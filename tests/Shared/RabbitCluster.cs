namespace Twyla.Streams.Testing;

/// <summary>
/// A local 3-node RabbitMQ cluster of a test's own (<c>tests/rabbitmq-node.sh cluster-start</c>: three nodes on
/// loopback, each with its own ports and data, joined with <c>rabbitmqctl join_cluster</c>), for the tests that kill
/// the node holding a quorum queue's leader. Linked into the test projects that need it.
/// </summary>
public sealed class RabbitCluster : IAsyncDisposable
{
    private RabbitCluster(string dir, IReadOnlyList<RabbitNode> nodes)
    {
        Dir = dir;
        Nodes = nodes;
    }

    /// <summary>The cluster's folder; the nodes live in <c>n1</c>, <c>n2</c>, <c>n3</c> under it.</summary>
    public string Dir { get; }

    /// <summary>The three nodes, n1 first.</summary>
    public IReadOnlyList<RabbitNode> Nodes { get; }

    /// <summary>The AMQP endpoints of the three nodes as <c>host:port</c>, n1 first.</summary>
    public IReadOnlyList<string> Hosts => [.. Nodes.Select(n => new Uri(n.Uri)).Select(u => $"{u.Host}:{u.Port}")];

    /// <summary>Starts a fresh cluster; a random port pick the nodes cannot use fails the start, so a fresh folder gets another try.</summary>
    public static async Task<RabbitCluster> StartNewAsync(string purpose)
    {
        for (var attempt = 1; ; attempt++)
        {
            var dir = Path.Combine(Path.GetTempPath(), $"twyla-{purpose}-{Guid.NewGuid():N}"[..(purpose.Length + 15)]);
            try
            {
                await RabbitNode.RunAsync(dir, "cluster-start");
                var nodes = new List<RabbitNode>();
                foreach (var member in new[] { "n1", "n2", "n3" })
                {
                    nodes.Add(await RabbitNode.OpenAsync(Path.Combine(dir, member)));
                }

                return new RabbitCluster(dir, nodes);
            }
            catch (InvalidOperationException) when (attempt < 2)
            {
                await StopAndDeleteAsync(dir);
            }
        }
    }

    /// <summary>The node that holds the leader of the quorum queue <paramref name="queue"/>, as the cluster reports it now.</summary>
    public async Task<RabbitNode> LeaderOfAsync(string queue)
    {
        var member = (await RabbitNode.RunAsync(Dir, "leader", queue)).Split('\n')[^1].Trim();
        return Nodes.Single(n => Path.GetFileName(n.Dir) == member);
    }

    public async ValueTask DisposeAsync() => await StopAndDeleteAsync(Dir);

    private static async Task StopAndDeleteAsync(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return;
        }

        try
        {
            await RabbitNode.RunAsync(dir, "cluster-stop");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
