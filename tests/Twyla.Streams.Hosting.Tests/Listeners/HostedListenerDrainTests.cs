using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.Listeners;

public sealed class HostedListenerDrainTests(ITestOutputHelper output) : TwylaHostingSpec(output)
{
    private readonly BlockingHandler _handler = new();

    protected override void ConfigureListeners(AkkaConfigurationBuilder builder) =>
        builder.WithTwylaListener<Booking>(
            Pattern, "billing", _handler.HandleAsync, new TwylaListenerOptions { Parallelism = 50, Prefetch = 100, DrainTimeout = TimeSpan.FromSeconds(20) });

    [Fact]
    public Task Host_shutdown_should_let_50_in_flight_handlers_finish_and_ack_them_and_leave_the_rest_queued() =>
        StopWhileFiftyHandlersRunAsync(Bus, _handler, "billing");
}

public sealed class HostedListenerDrainTimeoutTests(ITestOutputHelper output) : TwylaHostingSpec(output)
{
    private readonly BlockingHandler _handler = new();

    protected override void ConfigureListeners(AkkaConfigurationBuilder builder) =>
        builder.WithTwylaListener<Booking>(
            Pattern, "billing", _handler.HandleAsync, new TwylaListenerOptions { Parallelism = 5, DrainTimeout = TimeSpan.FromMilliseconds(300) });

    [Fact]
    public Task Host_shutdown_should_not_ack_handlers_that_did_not_finish_within_the_drain_timeout() =>
        StopWhileHandlersHoldFiveEventsAsync(this, _handler, stopWithin: TimeSpan.FromSeconds(30));

    /// <summary>
    /// Emits five events, stops the host while the handler holds all of them, and checks that the host stopped within
    /// <paramref name="stopWithin"/>, no handler finished, and all five are back in the queue, redelivered.
    /// </summary>
    internal static async Task StopWhileHandlersHoldFiveEventsAsync(TwylaHostingSpec spec, BlockingHandler handler, TimeSpan stopWithin)
    {
        await spec.EmitAsync(1, 5);
        await handler.Started.WhenCountAsync(5);

        await spec.Host.StopAsync(Ct).WaitAsync(stopWithin, cancellationToken: Ct);
        Assert.Equal(0, handler.Completed.Count);
        handler.Release();

        var left = await QueueReader.TakeAsync(spec.Bus, Pattern, "billing", 5);
        Assert.Equal(Enumerable.Range(1, 5), left.Select(e => e.Payload.N).Order());
        Assert.All(left, e => Assert.True(e.Redelivered));
    }
}

/// <summary>The host gives up on the drain (its ShutdownTimeout is shorter than the listener's drain timeout).</summary>
public sealed class HostedListenerShutdownTimeoutTests(ITestOutputHelper output) : TwylaHostingSpec(output)
{
    private readonly BlockingHandler _handler = new();

    protected override void ConfigureServices(HostBuilderContext context, IServiceCollection services)
    {
        base.ConfigureServices(context, services);
        services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMilliseconds(500));
    }

    protected override void ConfigureListeners(AkkaConfigurationBuilder builder) =>
        builder.WithTwylaListener<Booking>(
            Pattern, "billing", _handler.HandleAsync, new TwylaListenerOptions { Parallelism = 5, DrainTimeout = TimeSpan.FromMinutes(2) });

    [Fact]
    public Task Host_shutdown_timeout_should_cut_the_drain_short_and_leave_unfinished_events_in_the_queue() =>
        // Well before the listener's 2-minute drain timeout (and the host's default 30 s): the 500 ms shutdown timeout wins.
        HostedListenerDrainTimeoutTests.StopWhileHandlersHoldFiveEventsAsync(this, _handler, stopWithin: TimeSpan.FromSeconds(15));
}
