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
        await using var shared = new SharedPublisher(_ => Task.FromResult<IPublisherSession>(new FakePublisher()), TimeSpan.Zero);
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
            : Task.FromResult<IPublisherSession>(new FakePublisher()), TimeSpan.Zero);

        await Assert.ThrowsAsync<InvalidOperationException>(() => shared.GetAsync(default));
        Assert.NotNull(await shared.GetAsync(default));
    }

    /// <summary>A shared publisher whose every opened session is a <see cref="FakePublisher"/> added to <paramref name="opened"/>.</summary>
    private static SharedPublisher Recording(List<FakePublisher> opened) => new(_ =>
    {
        var p = new FakePublisher();
        opened.Add(p);
        return Task.FromResult<IPublisherSession>(p);
    }, TimeSpan.Zero);

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
