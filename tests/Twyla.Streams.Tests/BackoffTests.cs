using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Tests;

/// <summary>The one backoff rule: RPC retries and hosted listener restarts wait by it.</summary>
public sealed class BackoffTests
{
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    [Fact]
    public void Delay_should_double_with_every_retry_in_a_row_up_to_the_maximum()
    {
        var delays = Enumerable.Range(0, 7).Select(n => Backoff.Delay(Second, 30 * Second, n, jitter: 0).TotalSeconds);

        Assert.Equal([1, 2, 4, 8, 16, 30, 30], delays);
    }

    [Fact]
    public void Delay_should_add_at_most_20_percent_jitter_and_never_exceed_the_maximum()
    {
        Assert.Equal(TimeSpan.FromSeconds(1.2), Backoff.Delay(Second, 30 * Second, 0, jitter: 1));
        Assert.Equal(TimeSpan.FromSeconds(17.6), Backoff.Delay(Second, 30 * Second, 4, jitter: 0.5));
        Assert.Equal(30 * Second, Backoff.Delay(Second, 30 * Second, 5, jitter: 1));
        Assert.Equal(30 * Second, Backoff.Delay(Second, 30 * Second, int.MaxValue, jitter: 0));
        Assert.All(Enumerable.Range(0, 100), _ => Assert.InRange(Backoff.Delay(Second, 30 * Second, 2).TotalSeconds, 4, 4.8));
    }

    [Theory]
    [InlineData(0, 1, 0, 0.0)]
    [InlineData(2, 1, 0, 0.0)]
    [InlineData(1, 2, -1, 0.0)]
    [InlineData(1, 2, 0, 1.5)]
    public void Delay_should_refuse_what_is_no_backoff(int minSeconds, int maxSeconds, int retry, double jitter)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Backoff.Delay(minSeconds * Second, maxSeconds * Second, retry, jitter));
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(2, 1)]
    public void Rpc_retries_should_refuse_a_backoff_by_the_same_rule_naming_their_parameters(int baseSeconds, int maxSeconds)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Backoff.Delay(baseSeconds * Second, maxSeconds * Second, 0, 0));

        var refused = Assert.Throws<ArgumentOutOfRangeException>(
            () => RpcCallSettings.Create().WithRetries(3, baseSeconds * Second, maxSeconds * Second));

        Assert.Equal("backoffBase", refused.ParamName);
        Assert.Contains($"more than zero with backoffBase ({baseSeconds * Second}) <= backoffMax ({maxSeconds * Second})", refused.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Rpc_retries_should_wait_by_the_same_rule_from_their_backoff_base()
    {
        var settings = RpcCallSettings.Create().WithRetries(5, TimeSpan.FromMilliseconds(100), TimeSpan.FromMilliseconds(300));

        Assert.InRange(RpcResilience.Backoff(settings, 1).TotalMilliseconds, 100, 120);
        Assert.InRange(RpcResilience.Backoff(settings, 2).TotalMilliseconds, 200, 240);
        Assert.Equal(300, RpcResilience.Backoff(settings, 5).TotalMilliseconds);
    }
}
