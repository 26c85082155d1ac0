using Akka.Hosting;
using Twyla.Streams.Hosting.Listeners;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Listeners;

public sealed class HostedListenerDrainTests(ITestOutputHelper output) : TwylaHostingSpec(output)
{
    private readonly Recorder<int> _started = new();
    private readonly Recorder<int> _completed = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override void ConfigureListeners(AkkaConfigurationBuilder builder) =>
        builder.WithTwylaListener<Booking>(
            Pattern,
            "billing",
            async e =>
            {
                _started.Record(e.Payload.N);
                await _release.Task;
                _completed.Record(e.Payload.N);
            },
            new TwylaListenerOptions { Parallelism = 50, Prefetch = 100, DrainTimeout = TimeSpan.FromSeconds(20) });

    [Fact]
    public async Task Host_shutdown_should_let_50_in_flight_handlers_finish_and_ack_them_and_leave_the_rest_queued()
    {
        await EmitAsync(1, 80);
        await _started.WhenCountAsync(50);

        var stopping = Host.StopAsync(Ct);
        await AwaitConditionAsync(() => Task.FromResult(Listener("billing").State == ListenerState.Draining), TimeSpan.FromSeconds(5), cancellationToken: Ct);
        Assert.False(stopping.IsCompleted);
        Assert.Equal(0, _completed.Count);

        _release.SetResult();
        await stopping.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken: Ct);

        // All 50 finished before the host stopped; no other event was handed to the handler.
        Assert.Equal(_started.Items.Order(), _completed.Items.Order());
        Assert.Equal(50, _completed.Count);

        // They were acked (none comes back), and the 30 never handed over are still queued, not redelivered.
        await Bus.EmitAsync(Pattern, new Booking("after-stop", 999));
        var left = await QueueReader.TakeAsync(Bus, Pattern, "billing", 31);
        var expected = Enumerable.Range(1, 80).Except(_completed.Items).Append(999).Order();
        Assert.Equal(expected, left.Select(e => e.Payload.N).Order());
    }
}

public sealed class HostedListenerDrainTimeoutTests(ITestOutputHelper output) : TwylaHostingSpec(output)
{
    private readonly Recorder<int> _started = new();
    private readonly Recorder<int> _completed = new();
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    protected override void ConfigureListeners(AkkaConfigurationBuilder builder) =>
        builder.WithTwylaListener<Booking>(
            Pattern,
            "billing",
            async e =>
            {
                _started.Record(e.Payload.N);
                await _release.Task;
                _completed.Record(e.Payload.N);
            },
            new TwylaListenerOptions { Parallelism = 5, DrainTimeout = TimeSpan.FromMilliseconds(300) });

    [Fact]
    public async Task Host_shutdown_should_not_ack_handlers_that_did_not_finish_within_the_drain_timeout()
    {
        await EmitAsync(1, 5);
        await _started.WhenCountAsync(5);

        await Host.StopAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken: Ct);
        Assert.Equal(0, _completed.Count);
        _release.SetResult();

        var left = await QueueReader.TakeAsync(Bus, Pattern, "billing", 5);
        Assert.Equal(Enumerable.Range(1, 5), left.Select(e => e.Payload.N).Order());
        Assert.All(left, e => Assert.True(e.Redelivered));
    }
}
