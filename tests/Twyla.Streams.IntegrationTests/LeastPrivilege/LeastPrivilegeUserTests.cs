using System.Collections.Concurrent;
using System.Text.RegularExpressions;
using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.FaultMatrix;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.LeastPrivilege;

public sealed record Invoice(int N);

/// <summary>
/// A service running as a broker user with exactly the permissions docs/operations.md documents for a service that
/// emits to the events exchange E and listens in group queue Q: configure, write and read all <c>^(E|Q(\..+)?)$</c>
/// (Q's dead-letter queue, router exchange and retry queues start with <c>Q.</c>). No access to <c>amq.default</c>, none
/// to other groups' queues. It emits, listens, dead-letters a malformed message, retries a failing handler and
/// replays its dead letters; listening in another group's queue fails clearly.
/// </summary>
public class LeastPrivilegeUserTests(ITestOutputHelper output) : FaultMatrixSpec(output)
{
    private const string Pattern = "invoice.created";
    private readonly ConcurrentDictionary<int, int> _handled = new();
    private int _failedOnce;

    /// <summary>The documented permission regex for a service emitting to <paramref name="exchange"/> and listening in <paramref name="queue"/>.</summary>
    public static string Permissions(string exchange, string queue) => $@"^({Regex.Escape(exchange)}(\.contracts)?|{Regex.Escape(queue)}(\..+)?)$";

    [Fact]
    public async Task A_user_with_only_the_documented_permissions_should_emit_listen_dead_letter_retry_and_replay_and_be_refused_other_groups()
    {
        var node = RabbitNode.Shared;
        var admin = Broker.Settings();
        var group = TestEvents.Group();
        var queue = $"{Pattern}.{group}";
        var user = "least-" + Guid.NewGuid().ToString("N")[..10];
        const string password = "least-secret-1";
        var permissions = Permissions(admin.Exchange, queue);
        TestOutput.WriteLine($"set_permissions -p / {user} '{permissions}' '{permissions}' '{permissions}'");
        await node.AddUserAsync(user, password, permissions, permissions, permissions);
        try
        {
            await using var bus = Bus(admin.WithUri(node.UriFor(user, password)));

            // Declare Q and its topology as this user (so nothing emitted next is unroutable), listen, emit three good
            // events, one the contract rejects, one whose handler fails once.
            await bus.DeclareGroupAsync(Pattern, group, ListenSettings.Default).WaitAsync(Documented.Hang);
            var listener = Listen(bus, group);
            for (var n = 1; n <= 3; n++)
            {
                await bus.EmitAsync(Pattern, new Invoice(n)).WaitAsync(Documented.Hang);
            }

            var malformed = await bus.EmitAsync(Pattern, "not an invoice").WaitAsync(Documented.Hang);
            await bus.EmitAsync(Pattern, new Invoice(42)).WaitAsync(Documented.Hang);

            await TestEvents.Eventually(
                () => Task.FromResult((new[] { 1, 2, 3 }.All(_handled.ContainsKey) && _handled.GetValueOrDefault(42) == 2) || listener.Completion.IsCompleted),
                done => done,
                Documented.Hang + Documented.Hang);
            Assert.False(
                listener.Completion.IsCompleted,
                $"the listener stopped: {listener.Completion.Exception?.GetBaseException().Message}");
            Assert.Equal(2, _handled[42]); // failed once, retried after its delay, then handled
            var dead = await TestEvents.Eventually(() => bus.PeekDeadLettersAsync(Pattern, group), d => d.Count == 1);
            Assert.Equal(malformed.Id, dead[0].Metadata?.Id);

            // Replay the dead letter to the group's queue (the listener is stopped, so it stays there).
            await listener.ShutdownAsync().WaitAsync(Documented.Hang);
            Assert.Equal(1, await bus.ReplayDeadLettersAsync(Pattern, group, CancellationToken.None).WaitAsync(Documented.Hang));
            await TestEvents.Eventually(() => bus.PeekDeadLettersAsync(Pattern, group), d => d.Count == 0);

            // Another group's queue (declared by someone allowed to) is refused, clearly and at once.
            var other = TestEvents.Group();
            await using (var adminBus = Bus(admin))
            {
                await adminBus.DeclareGroupAsync(Pattern, other, ListenSettings.Default);
            }

            var declare = await Assert.ThrowsAsync<Twyla.Streams.Transport.BrokerException>(
                () => bus.DeclareGroupAsync(Pattern, other, ListenSettings.Default).WaitAsync(Documented.Hang));
            TestOutput.WriteLine($"Declaring another group failed: {declare.Message}");
            Assert.Contains($"{Pattern}.{other}", declare.Message, StringComparison.Ordinal);
            Assert.Contains("ACCESS_REFUSED", declare.Message, StringComparison.Ordinal);
            Assert.DoesNotContain(password, declare.ToString(), StringComparison.Ordinal);

            // Its dead letters: RabbitMQ checks no permission for a passive queue.declare, so the count is read (and is
            // right); listing, replaying and purging them are refused, clearly.
            await using (var raw = await Broker.RawConnectionAsync())
            await using (var channel = await raw.CreateChannelAsync())
            {
                await channel.BasicPublishAsync("", $"{Pattern}.{other}.dead-letter", false, new RabbitMQ.Client.BasicProperties(), "{}"u8.ToArray());
            }

            Assert.Equal(1, await TestEvents.Eventually(() => bus.CountDeadLettersAsync(Pattern, other), n => n == 1));
            foreach (var operation in new Func<Task>[]
            {
                () => bus.ListDeadLettersAsync(Pattern, other, 0, 10, CancellationToken.None),
                () => bus.ReplayDeadLettersAsync(Pattern, other, CancellationToken.None),
                () => bus.PurgeDeadLettersAsync(Pattern, other, CancellationToken.None),
            })
            {
                var deadLetters = await Assert.ThrowsAsync<Twyla.Streams.Transport.BrokerException>(() => operation().WaitAsync(Documented.Hang));
                TestOutput.WriteLine($"Dead-letter operation on another group failed: {deadLetters.Message}");
                Assert.Contains("ACCESS_REFUSED", deadLetters.Message, StringComparison.Ordinal);
                Assert.Contains($"{Pattern}.{other}", deadLetters.Message, StringComparison.Ordinal);
            }

            var refused = Listen(bus, other);
            var failure = await Assert.ThrowsAnyAsync<Exception>(() => refused.Completion.WaitAsync(Documented.Hang));
            TestOutput.WriteLine($"Listen in another group failed: {failure.GetType().FullName}: {failure.Message}");
            Documented.ListenFailure(failure, $"{Pattern}.{other}");
            Assert.Contains("ACCESS_REFUSED", failure.ToString(), StringComparison.Ordinal);

            // The contract log: this user's listener announced its group, and it discovers (and checks against) the
            // contracts of every group receiving the event, another service's too.
            await using (var adminBus = Bus(admin))
            {
                var announcing = adminBus.Listen<Invoice>(Pattern, other).To(Sink.Ignore<Event<Invoice>>()).Run(Sys.Materializer());
                await announcing.Ready.WaitAsync(Documented.Hang);
                var discovered = await TestEvents.Eventually(() => bus.DiscoverContractsAsync(Pattern), d => d.Groups.Count == 2);
                Assert.Equal(new[] { group, other }.Order(StringComparer.Ordinal), discovered.Groups.Select(g => g.Group).Order(StringComparer.Ordinal).ToArray());
                await announcing.ShutdownAsync().WaitAsync(Documented.Hang);
            }

            await Assert.ThrowsAsync<Twyla.Streams.Emit.EmitException>(() => bus.EmitAsync(
                Twyla.Streams.Emit.OutgoingEvent.Create(Pattern, "not an invoice"),
                Twyla.Streams.Emit.EmitSettings.Default.WithContractCheck(true),
                CancellationToken.None).WaitAsync(Documented.Hang));
        }
        finally
        {
            await node.DeleteUserAsync(user);
        }
    }

    private IListenControl Listen(EventBus bus, string group) =>
        bus.Listen<Invoice>(Pattern, group)
            .Via(AckOnCompletion.Flow<Invoice>(
                e =>
                {
                    _handled.AddOrUpdate(e.Payload.N, 1, (_, n) => n + 1);
                    return e.Payload.N == 42 && Interlocked.Exchange(ref _failedOnce, 1) == 0
                        ? throw new InvalidOperationException("invoice 42 fails on its first delivery")
                        : Task.CompletedTask;
                },
                AckOnCompletionSettings.Create(4)))
            .To(Sink.Ignore<HandledEvent>())
            .Run(Sys.Materializer());
}
