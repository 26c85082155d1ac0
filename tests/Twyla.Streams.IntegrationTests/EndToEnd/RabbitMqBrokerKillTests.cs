using System.Collections.Concurrent;
using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.IntegrationTests.Transport.RabbitMq;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.EndToEnd;

[Collection(BrokerRestartCollection.Name)]
public class RabbitMqBrokerKillTests : Akka.TestKit.Xunit2.TestKit
{
    private readonly ITestOutputHelper _output;
    private readonly PrivateNode _node;

    public RabbitMqBrokerKillTests(ITestOutputHelper output, PrivateNode node)
        : base(output: output)
    {
        _output = output;
        _node = node;
    }

    [Fact]
    public async Task Broker_killed_and_restarted_while_events_flow_should_lose_no_confirmed_event_and_the_listener_should_resume_by_itself()
    {
        var mat = Sys.Materializer();
        await using var bus = EventBus.RabbitMq(Broker.Settings(_node.Uri).WithConfirmTimeout(TimeSpan.FromSeconds(10)), EventBusSettings.Create("booking-api"));
        var group = TestEvents.Group();
        await bus.DeclareGroupAsync("booking.created", group, ListenSettings.Default);

        // The listener as a service runs it: listen + ack on completion, restarted with backoff on failure.
        var received = new ConcurrentDictionary<string, int>();
        var restarts = 0;
        var (listenKill, listening) = RestartSource.OnFailuresWithBackoff(
                () =>
                {
                    Interlocked.Increment(ref restarts);
                    return bus.Listen<BookingCreated>("booking.created", group, ListenSettings.Default.WithPrefetch(50))
                        .Via(AckOnCompletion.Flow<BookingCreated>(e =>
                        {
                            received.AddOrUpdate(e.Metadata.Id, 1, (_, n) => n + 1);
                            return Task.CompletedTask;
                        }, AckOnCompletionSettings.Create(8)));
                },
                RestartSettings.Create(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(1), 0.1))
            .ViaMaterialized(KillSwitches.Single<HandledEvent>(), Keep.Right)
            .ToMaterialized(Sink.Ignore<HandledEvent>(), Keep.Both)
            .Run(mat);

        // Events flow through an emit flow; each element either passes on confirmed or the stream fails clearly.
        var confirmed = new ConcurrentBag<string>();
        var emitting = Source.From(Enumerable.Range(0, int.MaxValue))
            .Throttle(400, TimeSpan.FromSeconds(1), 50, ThrottleMode.Shaping)
            .Select(i => OutgoingEvent.Create("booking.created", new BookingCreated($"B-{i}", i % 9)))
            .Via(bus.EmitFlow<BookingCreated>(EmitSettings.Create(64)))
            .RunForeach(m => confirmed.Add(m.Id), mat);

        await TestEvents.Eventually(() => Task.FromResult(received.Count), c => c >= 200);
        await _node.KillAsync();
        try
        {
            var failure = await Assert.ThrowsAsync<EmitException>(() => emitting.WaitAsync(TimeSpan.FromSeconds(30)));
            _output.WriteLine($"emit failed: {failure.Message}");
            Assert.Contains("booking.created", failure.Message, StringComparison.Ordinal);
        }
        finally
        {
            await _node.StartAsync();
        }

        var afterRestart = await bus.EmitAsync("booking.created", new BookingCreated("after-restart", 1));
        var all = confirmed.Append(afterRestart.Id).ToList();
        await TestEvents.Eventually(
            () => Task.FromResult(all.Count(received.ContainsKey)), c => c == all.Count, TimeSpan.FromSeconds(60));

        _output.WriteLine($"{all.Count} confirmed, {received.Count} received, {received.Values.Count(v => v > 1)} more than once, {restarts} listener starts");
        Assert.True(restarts >= 2, "the listener restarted by itself");
        listenKill.Shutdown();
        await listening.WaitAsync(TimeSpan.FromSeconds(20));
    }
}
