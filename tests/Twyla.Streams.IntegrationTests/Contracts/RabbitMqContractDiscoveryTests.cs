using System.Collections.Concurrent;
using Akka.Streams;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.IntegrationTests.Transport.RabbitMq;
using Twyla.Streams.Testing;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.Contracts;

public sealed record Shipment(string Parcel, int Weight);

public sealed record ShipmentWithoutWeight(string Parcel);

/// <summary>
/// Two services (two buses, each with its own connections) on one RabbitMQ broker: the consumer's listener announces its
/// group's contract to the broker's contract log, the producer discovers it, checks payloads against it, and sees groups
/// that were retired or whose queue was deleted disappear, and groups come back when the contract log itself is deleted.
/// </summary>
public sealed class RabbitMqContractDiscoveryTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly ITestOutputHelper _output;

    public RabbitMqContractDiscoveryTests(ITestOutputHelper output)
        : base(output: output) => _output = output;

    private const string Name = "shipment.created";

    [Fact]
    public async Task A_listener_on_one_bus_should_announce_its_contract_and_a_bus_with_its_own_connections_should_discover_it()
    {
        var settings = Broker.Settings();
        await using var warehouse = EventBus.RabbitMq(settings, EventBusSettings.Create("warehouse"));
        await using var shop = EventBus.RabbitMq(settings, EventBusSettings.Create("shop"));
        var group = TestEvents.Group();
        await StartAsync<Shipment>(warehouse, "shipment.*", group, _ => { });

        // A listener announces in the background once it started: discovery shows it shortly after.
        var discovered = await TestEvents.Eventually(() => shop.DiscoverContractsAsync(Name), d => d.Groups.Count > 0);

        var contract = Assert.Single(discovered.Groups);
        Assert.Equal(("warehouse", group, "shipment.*"), (contract.Service, contract.Group, contract.Pattern));
        Assert.Equal(["parcel", "weight"], contract.Schema!["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal([1], contract.Versions);
        Assert.Empty((await shop.DiscoverContractsAsync("order.created").WaitAsync(Documented.Hang)).Groups);
    }

    [Fact]
    public async Task A_retired_group_and_a_group_whose_queue_was_deleted_should_disappear_from_discovery()
    {
        var settings = Broker.Settings();
        await using var warehouse = EventBus.RabbitMq(settings, EventBusSettings.Create("warehouse"));
        await using var shop = EventBus.RabbitMq(settings, EventBusSettings.Create("shop"));
        var retired = TestEvents.Group();
        var deleted = TestEvents.Group();
        await (await StartAsync<Shipment>(warehouse, Name, retired, _ => { })).ShutdownAsync().WaitAsync(Documented.Hang);
        await (await StartAsync<Shipment>(warehouse, Name, deleted, _ => { })).ShutdownAsync().WaitAsync(Documented.Hang);
        await TestEvents.Eventually(() => shop.DiscoverContractsAsync(Name), d => d.Groups.Count == 2);

        await warehouse.RetireGroupAsync(Name, retired, CancellationToken.None).WaitAsync(Documented.Hang);
        await using (var connection = await Broker.RawConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            await channel.QueueDeleteAsync($"{Name}.{deleted}", ifUnused: false, ifEmpty: false);
        }

        Assert.Empty((await shop.DiscoverContractsAsync(Name).WaitAsync(Documented.Hang)).Groups);
    }

    [Fact]
    public async Task The_pre_emit_check_should_refuse_what_a_group_would_dead_letter_and_without_it_the_group_should_dead_letter_it()
    {
        var settings = Broker.Settings();
        await using var warehouse = EventBus.RabbitMq(settings, EventBusSettings.Create("warehouse"));
        await using var shop = EventBus.RabbitMq(settings, EventBusSettings.Create("shop"));
        var group = TestEvents.Group();
        var handled = new ConcurrentQueue<string>();
        await StartAsync<Shipment>(warehouse, Name, group, s => handled.Enqueue(s.Parcel));
        await TestEvents.Eventually(() => shop.DiscoverContractsAsync(Name), d => d.Groups.Count == 1);
        var checking = EmitSettings.Default.WithContractCheck(true);

        var refused = await Assert.ThrowsAsync<EmitException>(
            () => shop.EmitAsync(OutgoingEvent.Create(Name, new ShipmentWithoutWeight("P-1")), checking, CancellationToken.None).WaitAsync(Documented.Hang));
        _output.WriteLine(refused.Message);
        Assert.Contains($"group '{group}'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("service 'warehouse'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("'/weight'", refused.Message, StringComparison.Ordinal);

        await shop.EmitAsync(OutgoingEvent.Create(Name, new Shipment("P-2", 3)), checking, CancellationToken.None).WaitAsync(Documented.Hang);
        await TestEvents.Eventually(() => Task.FromResult(handled.Count), c => c == 1);
        Assert.Equal(0, await warehouse.CountDeadLettersAsync(Name, group)); // P-1 was never sent: it would be dead-lettered before P-2 was handled

        // Without the check the same payload goes out, and the group dead-letters it as it always did.
        var sent = await shop.EmitAsync(Name, new ShipmentWithoutWeight("P-1")).WaitAsync(Documented.Hang);
        var letters = await TestEvents.Eventually(() => warehouse.PeekDeadLettersAsync(Name, group), d => d.Count == 1);
        Assert.Equal(sent.Id, letters[0].EventId);
        Assert.Contains("weight", letters[0].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_contract_log_deleted_while_services_run_should_get_their_groups_back_without_a_restart()
    {
        var settings = Broker.Settings();
        await using var warehouse = EventBus.RabbitMq(settings, EventBusSettings.Create("warehouse"));
        await using var shop = EventBus.RabbitMq(settings, EventBusSettings.Create("shop"));
        var group = TestEvents.Group();
        await StartAsync<Shipment>(warehouse, Name, group, _ => { });
        await TestEvents.Eventually(() => shop.DiscoverContractsAsync(Name), d => d.Groups.Count == 1);

        // An operator deletes the log's stream; the listener keeps running and nothing restarts.
        await using (var connection = await Broker.RawConnectionAsync())
        await using (var channel = await connection.CreateChannelAsync())
        {
            await channel.QueueDeleteAsync(settings.Exchange + RabbitMqContractLog.Suffix, ifUnused: false, ifEmpty: false);
        }

        // The broker tells the warehouse's bus, which stores its group again; the shop's discovery declares the log again
        // if it comes first (before the fix it failed with NO_ROUTE, and the group never came back).
        var discovered = await TestEvents.Eventually(() => shop.DiscoverContractsAsync(Name), d => d.Groups.Count == 1, Documented.Hang);

        var contract = Assert.Single(discovered.Groups);
        Assert.Equal(("warehouse", group), (contract.Service, contract.Group));
        Assert.Equal(["parcel", "weight"], contract.Schema!["required"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    private Task<IListenControl> StartAsync<T>(EventBus bus, string pattern, string group, Action<T> handle) =>
        Listeners.StartAsync(bus, pattern, group, handle, Sys.Materializer());
}

/// <summary>
/// The contract log survives a broker restart: a service that starts afterwards discovers what was announced before;
/// after a broker lost its data, listeners that start again announce again.
/// </summary>
[Collection(BrokerRestartCollection.Name)]
public sealed class RabbitMqContractRestartTests(ITestOutputHelper output, PrivateNode node) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    [Fact]
    public async Task Contracts_announced_before_a_broker_restart_should_be_discovered_by_a_service_that_starts_after_it()
    {
        var settings = Broker.Settings(node.Uri);
        var group = TestEvents.Group();
        await using (var warehouse = EventBus.RabbitMq(settings, EventBusSettings.Create("warehouse")))
        {
            await Listeners.StartAsync<Shipment>(warehouse, "shipment.created", group, _ => { }, Sys.Materializer());
            await TestEvents.Eventually(() => warehouse.DiscoverContractsAsync("shipment.created"), d => d.Groups.Count == 1, Documented.Hang);
        }

        // The broker restarts (its application stops and starts again; queues and streams are recovered from disk). A
        // kill -9 is not used here: on this node, created seconds ago, the stream coordinator's first state may not be on
        // disk yet, which is not what a service meets on a broker that has been running.
        await node.Node.CtlAsync("stop_app");
        await node.Node.CtlAsync("start_app");

        // After the restart the broker starts the stream again by itself; discovery waits for it (within its confirm timeout).
        await using var shop = await EventBus.ConnectRabbitMqAsync(settings, EventBusSettings.Create("shop"), CancellationToken.None);
        var discovered = await shop.DiscoverContractsAsync("shipment.created").WaitAsync(Documented.Hang);

        var contract = Assert.Single(discovered.Groups);
        Assert.Equal(("warehouse", group), (contract.Service, contract.Group));
        Assert.Equal(["parcel", "weight"], contract.Schema!["required"]!.AsArray().Select(n => n!.GetValue<string>()));
    }

    /// <summary>
    /// A broker whose data is wiped under running services (here `rabbitmqctl reset`): the connections are lost, the
    /// listener starts again (as hosted listeners do by themselves) on the same bus with the same type, and announces
    /// its group again although its contract did not change.
    /// </summary>
    [Fact]
    public async Task After_a_broker_lost_its_data_a_listener_that_starts_again_should_announce_its_group_again()
    {
        var settings = Broker.Settings(node.Uri);
        var group = TestEvents.Group();
        await using var warehouse = EventBus.RabbitMq(settings, EventBusSettings.Create("warehouse"));
        var listener = await Listeners.StartAsync<Shipment>(warehouse, "shipment.created", group, _ => { }, Sys.Materializer());
        await TestEvents.Eventually(() => warehouse.DiscoverContractsAsync("shipment.created"), d => d.Groups.Count == 1, Documented.Hang);

        await node.Node.CtlAsync("stop_app");
        await node.Node.CtlAsync("reset");
        await node.Node.CtlAsync("start_app");

        // The listener failed with its connection; it starts again.
        await Assert.ThrowsAnyAsync<Exception>(() => listener.Completion.WaitAsync(Documented.Hang));
        await Listeners.StartAsync<Shipment>(warehouse, "shipment.created", group, _ => { }, Sys.Materializer());

        await using var shop = EventBus.RabbitMq(settings, EventBusSettings.Create("shop"));
        var discovered = await TestEvents.Eventually(
            () => shop.DiscoverContractsAsync("shipment.created"), d => d.Groups.Count == 1, Documented.Hang + Documented.Recovery);

        var contract = Assert.Single(discovered.Groups);
        Assert.Equal(("warehouse", group), (contract.Service, contract.Group));
    }
}
