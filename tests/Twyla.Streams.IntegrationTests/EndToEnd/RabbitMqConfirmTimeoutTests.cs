using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.IntegrationTests.Transport.RabbitMq;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.EndToEnd;

/// <summary>
/// A broker under a memory alarm stops reading from publishing connections, so publishes are never confirmed:
/// every emit must fail with a clear error within its confirm timeout, never hang. The alarm is node-wide, so
/// these tests run on the node of the tests that disturb the broker.
/// </summary>
[Collection(BrokerRestartCollection.Name)]
public class RabbitMqConfirmTimeoutTests : Akka.TestKit.Xunit2.TestKit
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly ITestOutputHelper _output;
    private readonly PrivateNode _node;

    public RabbitMqConfirmTimeoutTests(ITestOutputHelper output, PrivateNode node)
        : base(output: output)
    {
        _output = output;
        _node = node;
    }

    [Fact]
    public async Task Emits_the_broker_does_not_confirm_should_fail_clearly_within_the_confirm_timeout()
    {
        await using var bus = EventBus.RabbitMq(
            Broker.Settings(_node.Uri).WithConfirmTimeout(TimeSpan.FromSeconds(2)), EventBusSettings.Create("booking-api"));
        var group = TestEvents.Group();
        await bus.DeclareGroupAsync("booking.created", group, ListenSettings.Default);
        await bus.EmitAsync("booking.created", new BookingCreated("B-0", 0)); // connection and publisher open before the alarm

        await _node.MemoryAlarmAsync(on: true);
        try
        {
            // An emit stream: the bus's one confirm timeout (RabbitMqSettings.ConfirmTimeout, 2 s here).
            var done = Source.From(Enumerable.Range(1, 5).Select(i => new BookingCreated($"B-{i}", i)))
                .RunWith(bus.Emit<BookingCreated>("booking.created"), Sys.Materializer());
            var streamError = await Assert.ThrowsAsync<EmitException>(() => done.WaitAsync(Wait));
            _output.WriteLine(streamError.Message);
            Assert.Contains("booking.created", streamError.Message, StringComparison.Ordinal);
            Assert.Contains("was not confirmed by the broker within 00:00:02", streamError.Message, StringComparison.Ordinal);

            // EmitAsync: the same timeout.
            var started = DateTime.UtcNow;
            var single = await Assert.ThrowsAsync<EmitException>(() => bus.EmitAsync("booking.created", new BookingCreated("B-9", 9)).WaitAsync(Wait));
            _output.WriteLine(single.Message);
            Assert.Contains("was not confirmed by the broker within 00:00:02", single.Message, StringComparison.Ordinal);
            Assert.True(DateTime.UtcNow - started < TimeSpan.FromSeconds(20), "EmitAsync should give up after about 2 s");
        }
        finally
        {
            await _node.MemoryAlarmAsync(on: false);
        }
    }
}
