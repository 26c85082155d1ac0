using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.IntegrationTests.Transport.RabbitMq;

/// <summary>Cluster hosts are tried in order: two live nodes, the private node of the broker-restart collection and the shared one.</summary>
[Collection(BrokerRestartCollection.Name)]
public class RabbitMqClusterHostsTests(PrivateNode node)
{
    private const int Connections = 10;

    [Fact]
    public async Task Every_connection_should_go_to_the_first_host_that_answers_in_the_order_of_the_settings()
    {
        var first = new Uri(node.Uri);
        var second = new Uri(Broker.Uri);
        var bothUp = Broker.Settings(node.Uri).WithClusterHosts([$"{second.Host}:{second.Port}"]);
        var firstDown = bothUp.WithHost("127.0.0.1").WithPort(1).WithClusterHosts([$"{first.Host}:{first.Port}", $"{second.Host}:{second.Port}"]);

        var whenBothUp = await ConnectedPortsAsync(bothUp);
        var whenFirstDown = await ConnectedPortsAsync(firstDown);

        // The client shuffles an endpoint list: had it been given both, about half of these would land on the second.
        Assert.All(whenBothUp, port => Assert.Equal(first.Port, port));
        Assert.All(whenFirstDown, port => Assert.Equal(first.Port, port));
    }

    private static async Task<List<int>> ConnectedPortsAsync(RabbitMqSettings settings)
    {
        var ports = new List<int>();
        for (var i = 0; i < Connections; i++)
        {
            await using var transport = new RabbitMqTransport(settings);
            var connection = await transport.GetConnectionAsync(ConnectionRole.Consume, default);
            ports.Add(connection.Endpoint.Port);
        }

        return ports;
    }
}
