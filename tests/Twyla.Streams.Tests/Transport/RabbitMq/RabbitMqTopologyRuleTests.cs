using System.Text;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.Tests.Transport.RabbitMq;

/// <summary>Which routing key a delivery was published with: the header only on our own copies, which come through the group's router.</summary>
public sealed class RabbitMqTopologyRuleTests
{
    private static readonly ListenerTopology Topology = ListenerTopology.Create("booking.*", "billing", QueueType.Classic);

    private static Dictionary<string, object?> Headers(string key) =>
        new() { [CloudEventsAmqpCodec.RoutingKeyHeader] = Encoding.UTF8.GetBytes(key) };

    [Fact]
    public void A_copy_delivered_through_the_groups_router_should_keep_the_key_it_was_first_published_with()
    {
        Assert.Equal("booking.created", RabbitMqTopology.CopiedRoutingKey(Topology, Topology.RouterExchangeName, Headers("booking.created")));
    }

    [Fact]
    public void A_foreign_message_should_not_be_renamed_by_its_own_header()
    {
        Assert.Null(RabbitMqTopology.CopiedRoutingKey(Topology, "twyla.events", Headers("other.thing")));
        Assert.Null(RabbitMqTopology.CopiedRoutingKey(Topology, "", Headers("other.thing"))); // the default exchange
        Assert.Null(RabbitMqTopology.CopiedRoutingKey(Topology, Topology.RouterExchangeName + "x", Headers("other.thing")));
    }

    [Fact]
    public void A_message_the_broker_dead_lettered_through_the_router_should_be_a_copy_only_if_it_first_died_there()
    {
        // The router is the group queue's dead-letter exchange too: a foreign message expired or over the delivery
        // limit arrives through it with its own forged header and x-first-death-exchange naming the events exchange.
        var foreign = Headers("other.thing");
        foreign[RabbitMqTopology.FirstDeathExchangeHeader] = Encoding.UTF8.GetBytes("twyla.events");
        var ours = Headers("booking.created"); // a retry copy: published to the router, expired in its retry queue
        ours[RabbitMqTopology.FirstDeathExchangeHeader] = Encoding.UTF8.GetBytes(Topology.RouterExchangeName);

        Assert.Null(RabbitMqTopology.CopiedRoutingKey(Topology, Topology.RouterExchangeName, foreign));
        Assert.Equal("booking.created", RabbitMqTopology.CopiedRoutingKey(Topology, Topology.RouterExchangeName, ours));
    }

    [Fact]
    public void A_copy_without_the_header_should_have_no_copied_key()
    {
        Assert.Null(RabbitMqTopology.CopiedRoutingKey(Topology, Topology.RouterExchangeName, null));
        Assert.Null(RabbitMqTopology.CopiedRoutingKey(Topology, Topology.RouterExchangeName, new Dictionary<string, object?>()));
    }
}
