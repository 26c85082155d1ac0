using RabbitMQ.Client;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Transport;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.IntegrationTests.Transport.RabbitMq;

public class RabbitMqTopologyTests
{
    [Fact]
    public async Task DeclareListener_should_create_exchange_queue_binding_and_dead_letter_queue_idempotently()
    {
        var settings = Broker.Settings();
        await using var transport = new RabbitMqTransport(settings);
        var topology = TestEvents.Topology("booking.*");

        await transport.DeclareListenerAsync(topology, default);
        await transport.DeclareListenerAsync(topology, default);

        await using var raw = await Broker.RawConnectionAsync();
        await using var ch = await raw.CreateChannelAsync(new CreateChannelOptions(publisherConfirmationsEnabled: true, publisherConfirmationTrackingEnabled: true));
        await ch.ExchangeDeclarePassiveAsync(settings.Exchange);
        await ch.QueueDeclarePassiveAsync(topology.QueueName);
        await ch.QueueDeclarePassiveAsync(topology.QueueName + ".dead-letter");
        // The binding routes booking.* to the queue (mandatory and confirmed: the message is in the queue).
        await ch.BasicPublishAsync(settings.Exchange, "booking.created", true, new BasicProperties(), "{}"u8.ToArray());
        Assert.Equal(1u, await ch.MessageCountAsync(topology.QueueName));
        // The queue dead-letters to its dead-letter queue through the default exchange.
        var got = await ch.BasicGetAsync(topology.QueueName, autoAck: false);
        await ch.BasicNackAsync(got!.DeliveryTag, multiple: false, requeue: false);
        var deadLetters = await transport.ListDeadLettersAsync(topology, 0, 10, default);
        for (var i = 0; i < 50 && deadLetters.Count == 0; i++)
        {
            await Task.Delay(100); // the broker dead-letters asynchronously; there is nothing to await
            deadLetters = await transport.ListDeadLettersAsync(topology, 0, 10, default);
        }

        var dead = Assert.Single(deadLetters);
        Assert.Equal("booking.created", dead.RoutingKey);
        Assert.Contains("rejected", dead.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeclareListener_should_fail_naming_the_queue_and_argument_when_the_queue_exists_with_other_arguments()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var topology = TestEvents.Topology("booking.created");
        await using (var raw = await Broker.RawConnectionAsync())
        await using (var ch = await raw.CreateChannelAsync())
        {
            await ch.QueueDeclareAsync(topology.QueueName, durable: true, exclusive: false, autoDelete: false,
                arguments: new Dictionary<string, object?> { ["x-dead-letter-exchange"] = topology.RouterExchangeName, ["x-dead-letter-routing-key"] = "elsewhere", ["x-queue-type"] = "classic" });
        }

        var e = await Assert.ThrowsAsync<TopologyConflictException>(() => transport.DeclareListenerAsync(topology, default));

        Assert.Equal(topology.QueueName, e.Name);
        Assert.Equal("x-dead-letter-routing-key", e.Argument);
        Assert.Contains($"'{topology.QueueName}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("asks for 'dead-letter'", e.Message, StringComparison.Ordinal);

        // The transport is still usable after the broker closed that channel.
        await transport.DeclareListenerAsync(TestEvents.Topology("booking.created"), default);
    }

    [Fact]
    public async Task DeclareListener_should_fail_clearly_when_a_classic_queue_is_redeclared_as_quorum()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var classic = TestEvents.Topology("booking.created", QueueType.Classic);
        await transport.DeclareListenerAsync(classic, default);

        var e = await Assert.ThrowsAsync<TopologyConflictException>(() =>
            transport.DeclareListenerAsync(classic with { QueueType = QueueType.Quorum }, default));

        // The in-memory transport throws the same for the same conflict (InMemoryTransportTests).
        Assert.Equal((classic.QueueName, "x-queue-type"), (e.Name, e.Argument));
        Assert.StartsWith(
            $"The queue '{classic.QueueName}' already exists with other arguments: 'x-queue-type' differs (this declaration asks for 'quorum'; the broker said: ",
            e.Message,
            StringComparison.Ordinal);
        Assert.EndsWith("). Delete the queue or declare it with the same settings.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task DeclareListener_should_create_quorum_queues_on_request()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var topology = TestEvents.Topology("booking.created", QueueType.Quorum);

        await transport.DeclareListenerAsync(topology, default);

        // Declaring it again as classic conflicts, which proves the broker holds a quorum queue.
        var e = await Assert.ThrowsAsync<TopologyConflictException>(() =>
            transport.DeclareListenerAsync(topology with { QueueType = QueueType.Classic }, default));
        Assert.Equal("x-queue-type", e.Argument);
    }

    [Fact]
    public async Task Disposing_the_transport_should_fail_live_sessions_requeue_their_events_and_reject_later_calls()
    {
        var settings = Broker.Settings();
        var transport = new RabbitMqTransport(settings);
        var topology = TestEvents.Topology("booking.created");
        var probe = new DeliveryProbe();
        var session = await transport.StartConsumerAsync(topology, 10, probe, default);
        var publisher = await transport.OpenPublisherAsync(default);
        await publisher.PublishAsync(TestEvents.Envelope("booking.created", "{}"), true, default);
        var delivery = await probe.NextAsync();

        await transport.DisposeAsync();

        Assert.True(probe.Failed.IsCompleted, "DisposeAsync returns after the sessions were told");
        Assert.IsType<ObjectDisposedException>(await probe.Failed);
        Assert.False((await transport.CheckHealthAsync(default)).IsHealthy);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => session.AckAsync(delivery.Tag, false, default));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => publisher.PublishAsync(TestEvents.Envelope("booking.created", "{}"), false, default));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => transport.DeclareListenerAsync(topology, default));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => transport.StartConsumerAsync(topology, 10, new DeliveryProbe(), default));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => transport.OpenPublisherAsync(default));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => transport.ListDeadLettersAsync(topology, 0, 10, default));

        // The unsettled event went back to the queue.
        await using var again = new RabbitMqTransport(settings);
        var next = new DeliveryProbe();
        await using var resumed = await again.StartConsumerAsync(topology, 10, next, default);
        Assert.True((await next.NextAsync()).Redelivered);
    }

    [Fact]
    public async Task IsHealthy_should_tell_whether_the_broker_answers()
    {
        await using var up = new RabbitMqTransport(Broker.Settings());
        await using var down = new RabbitMqTransport(RabbitMqSettings.FromUri("amqp://guest:Secret99@127.0.0.1:1/"));

        Assert.True((await up.CheckHealthAsync(default)).IsHealthy);
        Assert.False((await down.CheckHealthAsync(default)).IsHealthy);
    }

    [Fact]
    public async Task A_bus_should_connect_to_the_next_cluster_host_when_the_first_does_not_answer()
    {
        var live = new Uri(Broker.Uri);
        var settings = RabbitMqSettings.FromUri(Broker.Uri).WithHost("127.0.0.1").WithPort(1)
            .WithClusterHosts([$"{live.Host}:{live.Port}"]);

        await using var bus = await EventBus.ConnectRabbitMqAsync(settings, EventBusSettings.Create("tests"), default);

        Assert.True((await bus.Transport.CheckHealthAsync(default)).IsHealthy);
        Assert.Equal($"amqp://127.0.0.1:1/ (+{live.Host}:{live.Port})", bus.TransportDescription);
    }

    [Fact]
    public async Task ConnectRabbitMq_should_fail_naming_each_host_with_its_failure_but_not_the_password()
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => EventBus.ConnectRabbitMqAsync(
            RabbitMqSettings.FromUri("amqp://guest:Secret99@127.0.0.1:1/").WithClusterHosts(["127.0.0.1:2"]), EventBusSettings.Create("tests"), default));

        Assert.Equal(
            "Could not connect to RabbitMQ at amqp://127.0.0.1:1/ (+127.0.0.1:2): 127.0.0.1:1: Connection refused; 127.0.0.1:2: Connection refused",
            e.Message);
        Assert.DoesNotContain("Secret99", e.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ConnectRabbitMq_should_fail_clearly_on_wrong_credentials()
    {
        var uri = new Uri(Broker.Uri);
        var settings = RabbitMqSettings.FromUri(Broker.Uri).WithCredentials("guest", "WrongPass77");

        var e = await Assert.ThrowsAnyAsync<Exception>(() => EventBus.ConnectRabbitMqAsync(settings, EventBusSettings.Create("tests"), default));

        Assert.DoesNotContain("WrongPass77", e.ToString(), StringComparison.Ordinal);
        Assert.Contains($"{uri.Host}:{uri.Port}", e.Message, StringComparison.Ordinal);
    }
}
