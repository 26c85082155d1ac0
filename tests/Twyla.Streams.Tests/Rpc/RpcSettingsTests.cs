using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Tests.Rpc;

public sealed class RpcSettingsTests
{
    [Theory]
    [InlineData("navitaire-api.get_booking", true)]
    [InlineData("svc_2.proc-3", true)]
    [InlineData("get_booking", false)]
    [InlineData("Navitaire.get_booking", false)]
    [InlineData("a.b.c", false)]
    [InlineData(".get_booking", false)]
    [InlineData("svc.", false)]
    [InlineData("svc.get booking", false)]
    public void RpcProcedureName_should_accept_only_service_dot_procedure(string name, bool valid) =>
        Assert.Equal(valid, RpcProcedureName.IsValidQualified(name));

    [Fact]
    public void RpcClientSettings_should_resolve_configuration_before_the_template()
    {
        var settings = RpcClientSettings.Create().WithService("booking-api", new Uri("http://10.0.0.5:8080/base/"));

        Assert.Equal(new Uri("http://10.0.0.5:8080/base/"), settings.Resolve("booking-api"));
        Assert.Equal(new Uri("http://other-api"), settings.Resolve("other-api"));
        Assert.Equal(new Uri("https://other-api.prod.svc:8443"), settings.WithUrlTemplate("https://{service}.prod.svc:8443").Resolve("other-api"));
        Assert.Null(settings.WithoutUrlTemplate().Resolve("other-api"));
    }

    [Fact]
    public void RpcClientSettings_should_reject_a_template_without_the_service_placeholder()
    {
        var e = Assert.Throws<ArgumentException>(() => RpcClientSettings.Create().WithUrlTemplate("http://fixed-host"));

        Assert.Contains("{service}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RpcCallSettings_should_keep_the_defaults_and_copy_on_change()
    {
        var defaults = RpcCallSettings.Create();
        var changed = defaults.WithTimeout(TimeSpan.FromSeconds(2)).WithIdempotent(true).WithParallelism(4);

        Assert.Equal(TimeSpan.FromSeconds(10), defaults.Timeout);
        Assert.False(defaults.Idempotent);
        Assert.Equal((TimeSpan.FromSeconds(2), true, 4, 3), (changed.Timeout, changed.Idempotent, changed.Parallelism, changed.MaxAttempts));
        Assert.Throws<ArgumentOutOfRangeException>(() => defaults.WithTimeout(TimeSpan.Zero));
        Assert.Throws<ArgumentException>(() => defaults.WithCorrelationId("has space"));
    }

    [Fact]
    public void RpcResult_should_be_taken_apart_by_switch_and_match()
    {
        RpcResult<int>[] results = [new RpcResult<int>.Success(7), new RpcResult<int>.Failure("circuit_open", "open", 0), new RpcResult<int>.Timeout(TimeSpan.FromSeconds(2))];

        var bySwitch = results.Select(r => r switch
        {
            RpcResult<int>.Success(var value) => $"ok {value}",
            RpcResult<int>.Failure(var code, _, var status) => $"{code} {status}",
            RpcResult<int>.Timeout(var after) => $"timeout {after.TotalSeconds}",
            _ => "impossible",
        });
        var byMatch = results.Select(r => r.Match(v => $"ok {v}", f => $"{f.Code} {f.Status}", after => $"timeout {after.TotalSeconds}"));

        Assert.Equal(["ok 7", "circuit_open 0", "timeout 2"], bySwitch);
        Assert.Equal(bySwitch, byMatch);
    }
}
