using Akka.Streams;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.IntegrationTests.Transport.RabbitMq;
using Twyla.Streams.Testing;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.Contracts;

/// <summary>
/// The broker loses the contract log while services run: their groups come back on the log without restarting the
/// services (before, a bus remembered having announced its groups and left them off the log until its process restarted).
/// </summary>
public sealed class RabbitMqContractLogLossTests(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    private const string Name = "shipment.created";

    [Fact]
    public async Task A_contract_log_deleted_while_services_run_should_get_their_groups_back_without_a_restart()
    {
        var settings = Broker.Settings();
        await using var warehouse = EventBus.RabbitMq(settings, EventBusSettings.Create("warehouse"));
        await using var shop = EventBus.RabbitMq(settings, EventBusSettings.Create("shop"));
        var group = TestEvents.Group();
        await Listeners.StartAsync<Shipment>(warehouse, Name, group, _ => { }, Sys.Materializer());
        await TestEvents.Eventually(() => shop.DiscoverContractsAsync(Name), d => d.Groups.Count == 1);

        // An operator deletes the log's stream; the listener keeps running and nothing restarts.
        await using (var connection = await Broker.RawConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            await channel.QueueDeleteAsync(settings.Exchange + RabbitMqContractLog.Suffix, ifUnused: false, ifEmpty: false);
        }

        // The warehouse's bus is told by the broker and stores its group again; the shop's discovery declares the log again
        // (whichever comes first) and sees the group once the warehouse stored it.
        var discovered = await TestEvents.Eventually(() => shop.DiscoverContractsAsync(Name), d => d.Groups.Count == 1, Documented.Hang);

        var contract = Assert.Single(discovered.Groups);
        Assert.Equal(("warehouse", group), (contract.Service, contract.Group));
        Assert.Equal(["parcel", "weight"], contract.Schema!["required"]!.AsArray().Select(n => n!.GetValue<string>()));
    }
}

/// <summary>
/// A broker whose data is wiped under running services (here `rabbitmqctl reset`): the connections are lost, the
/// listeners start again (as hosted listeners do by themselves), and each announces its group again, although its
/// contract did not change and the bus is the same.
/// </summary>
[Collection(BrokerRestartCollection.Name)]
public sealed class RabbitMqContractLogWipeTests(ITestOutputHelper output, PrivateNode node) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    [Fact]
    public async Task After_a_broker_lost_its_data_the_listeners_that_start_again_should_announce_their_groups_again()
    {
        var settings = Broker.Settings(node.Uri);
        var group = TestEvents.Group();
        await using var warehouse = EventBus.RabbitMq(settings, EventBusSettings.Create("warehouse"));
        var listener = await Listeners.StartAsync<Shipment>(warehouse, "shipment.created", group, _ => { }, Sys.Materializer());
        await TestEvents.Eventually(() => warehouse.DiscoverContractsAsync("shipment.created"), d => d.Groups.Count == 1, Documented.Hang);

        await node.Node.CtlAsync("stop_app");
        await node.Node.CtlAsync("reset");
        await node.Node.CtlAsync("start_app");

        // The listener failed with its connection; it starts again on the same bus with the same type.
        await Assert.ThrowsAnyAsync<Exception>(() => listener.Completion.WaitAsync(Documented.Hang));
        await Listeners.StartAsync<Shipment>(warehouse, "shipment.created", group, _ => { }, Sys.Materializer());

        await using var shop = EventBus.RabbitMq(settings, EventBusSettings.Create("shop"));
        var discovered = await TestEvents.Eventually(
            () => shop.DiscoverContractsAsync("shipment.created"), d => d.Groups.Count == 1, Documented.Hang + Documented.Recovery);

        var contract = Assert.Single(discovered.Groups);
        Assert.Equal(("warehouse", group), (contract.Service, contract.Group));
    }
}
