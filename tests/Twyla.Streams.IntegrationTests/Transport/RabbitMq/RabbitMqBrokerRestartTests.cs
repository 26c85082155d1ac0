using Twyla.Streams.Emit;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.Transport.RabbitMq;

/// <summary>
/// Tests that kill the broker or raise alarms on it: on a node of their own (the shared one serves the other test
/// projects meanwhile), one at a time.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class BrokerRestartCollection : ICollectionFixture<PrivateNode>
{
    public const string Name = "broker restarts";
}

[Collection(BrokerRestartCollection.Name)]
public class RabbitMqBrokerRestartTests(ITestOutputHelper output, PrivateNode node)
{
    [Fact]
    public async Task After_kill_9_and_restart_sessions_should_fail_new_ones_should_work_and_confirmed_events_should_survive()
    {
        await using var transport = new RabbitMqTransport(Broker.Settings(node.Uri));
        var topology = TestEvents.Topology("booking.created");
        var probe = new DeliveryProbe();
        var consumer = await transport.StartConsumerAsync(topology, 1, probe, default);
        var publisher = await transport.OpenPublisherAsync(default);
        var confirmed = new List<string>();
        for (var i = 0; i < 50; i++)
        {
            var e = TestEvents.Envelope("booking.created", $"{{\"n\":{i}}}");
            await publisher.PublishAsync(e, true, default);
            confirmed.Add(e.Metadata.Id);
        }

        // Publishes keep flowing while the broker dies: each completes or fails clearly.
        using var stop = new CancellationTokenSource();
        var failures = new List<Exception>();
        var inFlow = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var flowing = Task.Run(async () =>
        {
            var n = 1000;
            while (!stop.IsCancellationRequested)
            {
                var e = TestEvents.Envelope("booking.created", $"{{\"n\":{n++}}}");
                try
                {
                    await publisher.PublishAsync(e, true, default);
                    lock (confirmed)
                    {
                        confirmed.Add(e.Metadata.Id);
                    }

                    if (n == 1200)
                    {
                        inFlow.TrySetResult();
                    }
                }
                catch (EmitException ex)
                {
                    failures.Add(ex);
                    return;
                }
            }
        });
        var firstDelivery = await probe.NextAsync();
        await inFlow.Task.WaitAsync(TimeSpan.FromSeconds(20));

        await node.KillAsync();
        try
        {
            var cause = await probe.Failed.WaitAsync(TimeSpan.FromSeconds(20));
            output.WriteLine($"consumer failed: {cause.Message}");
            Assert.Contains(topology.QueueName, cause.Message, StringComparison.Ordinal);
            await flowing.WaitAsync(TimeSpan.FromSeconds(40));
            var emitFailure = Assert.Single(failures);
            output.WriteLine($"emit failed: {emitFailure.Message}");
            Assert.Contains("booking.created", emitFailure.Message, StringComparison.Ordinal);
            Assert.False((await transport.CheckHealthAsync(default)).IsHealthy);
        }
        finally
        {
            stop.Cancel();
            await node.StartAsync();
        }

        await consumer.DisposeAsync();
        await publisher.DisposeAsync();

        // The next session connects again by itself and sees every confirmed event (durable queue, persistent messages).
        Assert.True((await transport.CheckHealthAsync(default)).IsHealthy);
        var after = new DeliveryProbe();
        await using var resumed = await transport.StartConsumerAsync(topology, 200, after, default);
        var got = new HashSet<string>();
        while (!confirmed.All(got.Contains))
        {
            var d = await after.NextAsync(TimeSpan.FromSeconds(20));
            got.Add(d.Envelope!.Metadata.Id);
            await resumed.AckAsync(d.Tag, false, default);
        }

        Assert.Contains(firstDelivery.Envelope!.Metadata.Id, got);
        output.WriteLine($"{confirmed.Count} confirmed events, {got.Count} delivered after the restart");
        await using var publisher2 = await transport.OpenPublisherAsync(default);
        await publisher2.PublishAsync(TestEvents.Envelope("booking.created", "{\"n\":\"after\"}"), true, default);
    }
}
