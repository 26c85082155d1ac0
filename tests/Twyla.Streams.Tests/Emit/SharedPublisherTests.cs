using Twyla.Streams.Emit;
using Twyla.Streams.Transport;
using Xunit;

namespace Twyla.Streams.Tests.Emit;

/// <summary>The publisher <c>EmitAsync</c> shares: replaced whenever it died, whatever reported its death.</summary>
public sealed class SharedPublisherTests
{
    [Fact]
    public async Task GetAsync_should_open_a_new_session_once_the_held_one_died_even_when_the_failure_was_an_EmitException()
    {
        var opened = new List<FakePublisher>();
        await using var shared = Recording(opened);

        var first = await shared.GetAsync(default);
        Assert.Same(first, await shared.GetAsync(default));

        // The channel dies; the publish reports it as an EmitException (as RabbitMQ's closed channel does).
        opened[0].Die();
        await Assert.ThrowsAsync<EmitException>(() => first.PublishAsync(null!, false, default));
        await shared.ForgetIfDeadAsync(first);

        var second = await shared.GetAsync(default);
        Assert.NotSame(first, second);
        Assert.Equal(2, opened.Count);
        Assert.True(opened[0].Disposed);
    }

    [Fact]
    public async Task GetAsync_should_replace_a_dead_session_even_when_nobody_reported_a_failure()
    {
        var opened = new List<FakePublisher>();
        await using var shared = Recording(opened);

        var first = await shared.GetAsync(default);
        opened[0].Die();
        Assert.NotSame(first, await shared.GetAsync(default));
    }

    [Fact]
    public async Task ForgetIfDeadAsync_should_keep_a_session_that_is_still_open()
    {
        await using var shared = new SharedPublisher(_ => Task.FromResult<IPublisherSession>(new FakePublisher()), TimeSpan.Zero, maxInFlight: 10);
        var first = await shared.GetAsync(default);
        await shared.ForgetIfDeadAsync(first); // e.g. a nack: the channel is fine
        Assert.Same(first, await shared.GetAsync(default));
    }

    [Fact]
    public async Task A_failed_open_should_be_tried_again_on_the_next_call()
    {
        var calls = 0;
        await using var shared = new SharedPublisher(_ => ++calls == 1
            ? Task.FromException<IPublisherSession>(new InvalidOperationException("broker down"))
            : Task.FromResult<IPublisherSession>(new FakePublisher()), TimeSpan.Zero, maxInFlight: 10);

        await Assert.ThrowsAsync<InvalidOperationException>(() => shared.GetAsync(default));
        Assert.NotNull(await shared.GetAsync(default));
    }

    [Fact]
    public async Task PublishAsync_should_keep_at_most_the_in_flight_bound_waiting_for_confirms()
    {
        var session = new GatedPublisher();
        await using var shared = new SharedPublisher(_ => Task.FromResult<IPublisherSession>(session), TimeSpan.Zero, maxInFlight: 2);
        var publisher = await shared.GetAsync(default);

        var publishes = Enumerable.Range(0, 3).Select(_ => shared.PublishAsync(publisher, null!, default)).ToList();

        Assert.Equal(2, session.Waiting.Count); // the third waits for room
        using var cancelled = new CancellationTokenSource();
        var giveUp = shared.PublishAsync(publisher, null!, cancelled.Token);
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => giveUp); // waiting for room counts against the caller's token
        session.Waiting[0].SetResult(); // a confirm frees room
        await publishes[0];
        await session.Published(3);
        Assert.False(publishes[2].IsCompleted);
        session.Waiting[1].SetResult();
        session.Waiting[2].SetResult();
        await Task.WhenAll(publishes);
        Assert.Equal(3, session.Waiting.Count);
    }

    /// <summary>A shared publisher whose every opened session is a <see cref="FakePublisher"/> added to <paramref name="opened"/>.</summary>
    private static SharedPublisher Recording(List<FakePublisher> opened) => new(_ =>
    {
        var p = new FakePublisher();
        opened.Add(p);
        return Task.FromResult<IPublisherSession>(p);
    }, TimeSpan.Zero, maxInFlight: 10);

    /// <summary>A session whose publishes wait until the test confirms them.</summary>
    private sealed class GatedPublisher : IPublisherSession
    {
        private readonly Lock _gate = new();
        private readonly List<(int Count, TaskCompletionSource Reached)> _waiters = [];

        public List<TaskCompletionSource> Waiting { get; } = [];

        public bool IsOpen => true;

        public Task PublishAsync(EventEnvelope envelope, bool mandatory, CancellationToken cancellationToken)
        {
            var confirm = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                Waiting.Add(confirm);
                foreach (var w in _waiters.Where(w => Waiting.Count >= w.Count))
                {
                    w.Reached.TrySetResult();
                }
            }

            return confirm.Task;
        }

        /// <summary>Completes once <paramref name="count"/> publishes reached the session.</summary>
        public Task Published(int count)
        {
            var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_gate)
            {
                _waiters.Add((count, reached));
                if (Waiting.Count >= count)
                {
                    reached.TrySetResult();
                }
            }

            return reached.Task;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class FakePublisher : IPublisherSession
    {
        private volatile bool _dead;

        public bool Disposed { get; private set; }

        public bool IsOpen => !_dead && !Disposed;

        public void Die() => _dead = true;

        public Task PublishAsync(EventEnvelope envelope, bool mandatory, CancellationToken cancellationToken) =>
            _dead ? Task.FromException(new EmitException("the channel is closed")) : Task.CompletedTask;

        public ValueTask DisposeAsync()
        {
            Disposed = true;
            return ValueTask.CompletedTask;
        }
    }
}
