using Twyla.Streams.Emit;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.IntegrationTests.Transport.RabbitMq;

public class RabbitMqPublisherTests
{
    [Fact]
    public async Task A_mandatory_publish_that_no_queue_is_bound_for_should_fail_naming_the_event()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        await using var publisher = await transport.OpenPublisherAsync(default);
        var sent = TestEvents.Envelope("nobody.listens", "{}");

        var e = await Assert.ThrowsAsync<EmitException>(() => publisher.PublishAsync(sent, mandatory: true, default));

        Assert.Contains("'nobody.listens'", e.Message, StringComparison.Ordinal);
        Assert.Contains("no queue bound", e.Message, StringComparison.Ordinal);
        Assert.Contains(sent.Metadata.Id, e.Message, StringComparison.Ordinal);

        // The channel survives a return: the next publish works.
        await publisher.PublishAsync(TestEvents.Envelope("nobody.listens", "{}"), mandatory: false, default);
    }

    [Fact]
    public async Task Concurrent_publishes_should_all_complete_on_confirms_and_arrive()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var topology = TestEvents.Topology("load.tested");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 500, probe, default);
        await using var publisher = await transport.OpenPublisherAsync(default);

        var sent = Enumerable.Range(0, 500).Select(i => TestEvents.Envelope("load.tested", $"{{\"n\":{i}}}")).ToList();
        await Task.WhenAll(sent.Select(e => publisher.PublishAsync(e, mandatory: true, default)));

        var got = await probe.TakeAsync(500);
        Assert.Equal(sent.Select(e => e.Metadata.Id).Order(), got.Select(d => d.Envelope!.Metadata.Id).Order());
        Assert.False(probe.OutOfOrder);
        await consumer.AckAsync(got[^1].Tag, multiple: true, default);
    }

    [Fact]
    public async Task Publishing_on_a_disposed_session_should_fail_with_object_disposed()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        var publisher = await transport.OpenPublisherAsync(default);
        await publisher.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() =>
            publisher.PublishAsync(TestEvents.Envelope("booking.created", "{}"), mandatory: false, default));
    }

    [Fact]
    public async Task A_cancelled_publish_should_fail_with_operation_cancelled()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings());
        await using var publisher = await transport.OpenPublisherAsync(default);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            publisher.PublishAsync(TestEvents.Envelope("booking.created", "{}"), mandatory: false, cancelled.Token));
    }
}
