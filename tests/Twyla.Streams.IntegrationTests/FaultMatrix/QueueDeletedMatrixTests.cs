using System.Collections.Concurrent;
using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.FaultMatrix;

/// <summary>
/// Fault matrix, the listener's queue deleted under it (<c>rabbitmqctl delete_queue</c>): the listener fails with the
/// documented exception, a new materialization declares the queue again and consumes new events. The emit entry points
/// do not use the queue (events emitted while it is gone are unroutable, which the docs say).
/// </summary>
public class QueueDeletedMatrixTests(ITestOutputHelper output) : FaultMatrixSpec(output)
{
    private readonly ConcurrentDictionary<int, int> _received = new();

    [Fact]
    public async Task Queue_deleted_under_a_listener_should_fail_it_with_ListenException_and_a_new_one_should_redeclare_the_queue_and_consume()
    {
        await using var bus = Bus(Broker.Settings());
        var group = TestEvents.Group();
        var queue = $"{EntryPoints.Pattern}.{group}";
        var first = Listen(bus, group);
        await TestEvents.Eventually(() => RabbitNode.Shared.ConsumerCountAsync(queue), c => c == 1);
        await EmitAsync(bus, 1, 5);
        await TestEvents.Eventually(() => Task.FromResult(_received.Count), c => c == 5);

        await RabbitNode.Shared.DeleteQueueAsync(queue);

        var failure = await Assert.ThrowsAnyAsync<Exception>(() => first.Completion.WaitAsync(Documented.Hang));
        TestOutput.WriteLine($"Listen failed: {failure.GetType().FullName}: {failure.Message}");
        Documented.ListenFailure(failure, queue);

        var second = Listen(bus, group);
        await TestEvents.Eventually(() => RabbitNode.Shared.ConsumerCountAsync(queue), c => c == 1, Documented.Hang);
        await EmitAsync(bus, 6, 5);
        await TestEvents.Eventually(() => Task.FromResult(_received.Count), c => c == 10, Documented.Hang);
        Assert.False(second.Completion.IsCompleted);
        await second.ShutdownAsync().WaitAsync(Documented.Hang);
    }

    private static async Task EmitAsync(EventBus bus, int from, int count)
    {
        for (var n = from; n < from + count; n++)
        {
            await bus.EmitAsync(EntryPoints.EmitAsyncName, new MatrixEvent("emit-async", n)).WaitAsync(Documented.Hang);
        }
    }

    private IListenControl Listen(EventBus bus, string group) =>
        bus.Listen<MatrixEvent>(EntryPoints.Pattern, group)
            .Via(AckOnCompletion.Flow<MatrixEvent>(
                e =>
                {
                    _received.AddOrUpdate(e.Payload.N, 1, (_, n) => n + 1);
                    return Task.CompletedTask;
                },
                AckOnCompletionSettings.Create(4)))
            .To(Sink.Ignore<HandledEvent>())
            .Run(Sys.Materializer());
}
