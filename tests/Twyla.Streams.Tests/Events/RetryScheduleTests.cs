using Twyla.Streams.Events;
using Xunit;

namespace Twyla.Streams.Tests.Events;

public sealed class RetryScheduleTests
{
    [Theory]
    [InlineData(1, 1000)]
    [InlineData(2, 5000)]
    [InlineData(3, 30000)]
    [InlineData(4, 30000)]
    [InlineData(100, 30000)]
    [InlineData(0, 1000)]
    public void DelayAfter_should_take_the_delay_of_the_delivery_and_repeat_the_last(int delivery, int ms) =>
        Assert.Equal(TimeSpan.FromMilliseconds(ms), RetrySchedule.Default.DelayAfter(delivery));

    [Fact]
    public void An_empty_schedule_should_retry_at_once() =>
        Assert.Equal(TimeSpan.Zero, RetrySchedule.Create([], "delays").DelayAfter(3));

    [Theory]
    [InlineData(500, "retry-500ms")]
    [InlineData(1000, "retry-1s")]
    [InlineData(90_000, "retry-90s")]
    [InlineData(120_000, "retry-2m")]
    [InlineData(7_200_000, "retry-2h")]
    [InlineData(1500, "retry-1500ms")]
    public void Name_should_use_the_largest_whole_unit(int ms, string name) =>
        Assert.Equal(name, RetrySchedule.Name(TimeSpan.FromMilliseconds(ms)));

    [Fact]
    public void DistinctDelays_should_leave_out_zero_and_repeats()
    {
        var schedule = RetrySchedule.Create([TimeSpan.Zero, TimeSpan.FromSeconds(5), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)], "delays");
        Assert.Equal([TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5)], schedule.DistinctDelays);
    }
}
