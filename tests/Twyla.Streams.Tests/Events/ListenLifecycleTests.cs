using Twyla.Streams.Events;
using Xunit;

namespace Twyla.Streams.Tests.Events;

/// <summary>The listen stage's phase machine, without Akka: what a start, a drain, a close and a failure mean in each phase.</summary>
public sealed class ListenLifecycleTests
{
    private static ListenLifecycle Running()
    {
        var lifecycle = new ListenLifecycle();
        Assert.True(lifecycle.Started());
        return lifecycle;
    }

    [Fact]
    public void A_started_listener_should_run_and_take_deliveries_and_calls()
    {
        var lifecycle = Running();

        Assert.Equal(ListenPhase.Running, lifecycle.Phase);
        Assert.True(lifecycle.IsRunning);
        Assert.True(lifecycle.IsOpen);
        Assert.True(lifecycle.MayCallSession);
        Assert.False(lifecycle.ClosesWhenIdle);
        Assert.False(lifecycle.IsClosed);
    }

    [Fact]
    public void A_drain_should_stop_emitting_but_keep_taking_settlements_until_the_emitted_events_are_settled()
    {
        var lifecycle = Running();

        Assert.Equal(DrainStep.Drain, lifecycle.Drain());
        Assert.False(lifecycle.IsRunning);
        Assert.True(lifecycle.IsOpen);
        Assert.False(lifecycle.IsDrained(emittedUnsettled: 2));
        Assert.True(lifecycle.IsDrained(emittedUnsettled: 0));
        Assert.Equal(DrainStep.None, lifecycle.Drain()); // a second drain changes nothing
    }

    [Fact]
    public void A_close_should_let_the_queued_calls_finish_then_close_the_session_and_ignore_its_shutdown()
    {
        var lifecycle = Running();
        lifecycle.Drain();

        Assert.Equal(CloseStep.CloseSession, lifecycle.Close());
        Assert.False(lifecycle.IsOpen);
        Assert.True(lifecycle.MayCallSession);
        Assert.True(lifecycle.ClosesWhenIdle);
        Assert.Equal(CloseStep.None, lifecycle.Close());
        Assert.Equal(DrainStep.None, lifecycle.Drain());

        lifecycle.SessionClosing();
        Assert.False(lifecycle.MayCallSession);
        Assert.Equal(FailStep.Ignore, lifecycle.Failed(hasSession: true)); // the channel closing under us is expected
        lifecycle.SessionClosed();
        Assert.True(lifecycle.IsClosed);
    }

    [Fact]
    public void A_failure_while_running_should_fail_the_listener()
    {
        var lifecycle = Running();

        Assert.Equal(FailStep.Fail, lifecycle.Failed(hasSession: true));
        Assert.False(lifecycle.IsClosed);
    }

    [Fact]
    public void A_stop_while_starting_should_give_up_the_start_and_close_a_session_that_still_arrives()
    {
        var lifecycle = new ListenLifecycle();

        Assert.Equal(CloseStep.GiveUpStart, lifecycle.Close());
        Assert.False(lifecycle.Started()); // the session arrived after all: it is to be closed, the listener never runs
        Assert.False(lifecycle.IsRunning);
        Assert.True(lifecycle.ClosesWhenIdle);
    }

    [Fact]
    public void A_drain_while_starting_should_be_a_close()
    {
        var lifecycle = new ListenLifecycle();

        Assert.Equal(DrainStep.Close, lifecycle.Drain());
        Assert.Equal(ListenPhase.Starting, lifecycle.Phase);
        Assert.Equal(CloseStep.GiveUpStart, lifecycle.Close());
    }

    [Fact]
    public void A_start_that_fails_after_a_stop_should_end_as_a_normal_stop()
    {
        var lifecycle = new ListenLifecycle();
        lifecycle.Close();

        Assert.Equal(FailStep.Complete, lifecycle.Failed(hasSession: false));
        Assert.True(lifecycle.IsClosed);
    }

    [Fact]
    public void A_start_that_fails_without_a_stop_should_fail_the_listener()
    {
        Assert.Equal(FailStep.Fail, new ListenLifecycle().Failed(hasSession: false));
    }
}
