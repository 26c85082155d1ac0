using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Rpc;

/// <summary>A caller that went away early cancelled; one that went away at about its deadline timed out.</summary>
public sealed class RpcGiveUpTests
{
    private static readonly DateTimeOffset Due = new(2026, 11, 30, 0, 0, 10, TimeSpan.Zero);

    [Theory]
    [InlineData(10_000, -9_700, "cancelled")] // cancelled 300 ms into a 10 s deadline
    [InlineData(10_000, -1_001, "cancelled")] // more than the last second before it
    [InlineData(10_000, -999, "deadline_exceeded")] // in its last second: the caller's own timeout, seen early here
    [InlineData(300, -160, "cancelled")] // in the first half of a 300 ms window
    [InlineData(300, -140, "deadline_exceeded")] // in the last half
    [InlineData(300, 5, "deadline_exceeded")] // after it
    public void A_caller_that_went_away_should_be_cancelled_unless_it_was_about_its_deadline(int windowMs, int beforeDueMs, string expected)
    {
        var outcome = RpcGiveUp.Outcome(aborted: true, Due + TimeSpan.FromMilliseconds(beforeDueMs), Due, TimeSpan.FromMilliseconds(windowMs));

        Assert.Equal(expected, outcome);
    }

    [Fact]
    public void A_caller_that_went_away_without_a_deadline_cancelled_and_a_deadline_that_passed_here_timed_out()
    {
        Assert.Equal(RpcFailureCodes.Cancelled, RpcGiveUp.Outcome(aborted: true, Due, null, Timeout.InfiniteTimeSpan));
        Assert.Equal(RpcFailureCodes.DeadlineExceeded, RpcGiveUp.Outcome(aborted: false, Due, Due, TimeSpan.FromSeconds(1)));
    }
}
