using Twyla.Streams.Hosting.Listeners;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Listeners;

public sealed class HostedListenerBackoffTests
{
    [Fact]
    public void Backoff_should_double_with_every_failure_in_a_row_up_to_the_maximum()
    {
        var delays = Enumerable.Range(0, 7)
            .Select(n => HostedListener.Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), n, random: 0))
            .Select(d => d.TotalSeconds);

        Assert.Equal([1, 2, 4, 8, 16, 30, 30], delays);
    }

    [Fact]
    public void Backoff_should_add_at_most_20_percent_jitter_and_never_exceed_the_maximum()
    {
        Assert.Equal(TimeSpan.FromSeconds(1.2), HostedListener.Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 0, random: 1));
        Assert.Equal(TimeSpan.FromSeconds(17.6), HostedListener.Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 4, random: 0.5));
        Assert.Equal(TimeSpan.FromSeconds(30), HostedListener.Backoff(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), 5, random: 1));
    }
}
