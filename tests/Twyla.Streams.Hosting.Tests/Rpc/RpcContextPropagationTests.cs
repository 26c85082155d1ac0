using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Rpc;

[Collection(RpcCollection.Name)]
public sealed class RpcContextPropagationTests(RpcServerFixture server)
{
    [Fact]
    public async Task CallAsync_should_send_the_w3c_trace_context_of_the_current_activity()
    {
        using var client = server.Client(s => s);
        using var activity = new Activity("caller").SetIdFormat(ActivityIdFormat.W3C).Start();

        var result = await client.CallAsync<Echo, Echo>("test.trace", new Echo("t"), CancellationToken.None);

        var traceParent = Assert.IsType<RpcResult<Echo>.Success>(result).Value.Text;
        Assert.StartsWith("00-" + activity.TraceId.ToHexString() + "-", traceParent, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Handler_calls_should_pass_the_correlation_id_and_the_shorter_deadline_on()
    {
        using var client = server.Client(s => s);
        var settings = RpcCallSettings.Create().WithCorrelationId("chain-9").WithTimeout(TimeSpan.FromSeconds(3));

        var result = await client.CallAsync<Echo, Relay>("test.relay", new Echo("go"), settings, CancellationToken.None);

        var relay = Assert.IsType<RpcResult<Relay>.Success>(result).Value;
        Assert.Equal("chain-9", relay.OuterCorrelationId);
        Assert.Equal("chain-9", relay.InnerCorrelationId);
        Assert.InRange(relay.InnerRemainingMs, 1, 3000); // capped by the outer 3 s deadline, not the default 10 s
    }

    [Fact]
    public async Task Server_should_echo_the_correlation_id_header()
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "/rpc/get_booking"))
        {
            Content = new StringContent("""{"pnr":"E1"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(RpcHeaders.CorrelationId, "echo-me");

        using var response = await http.SendAsync(request);

        Assert.Equal("echo-me", Assert.Single(response.Headers.GetValues(RpcHeaders.CorrelationId)));
    }

    [Fact]
    public async Task AddRpc_should_resolve_services_from_configuration_and_bind_server_options()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Twyla:Rpc:Services:test"] = server.BaseAddress.ToString(),
            ["Twyla:Rpc:UrlTemplate"] = "",
            ["Twyla:Rpc:Timeout"] = "00:00:04",
            ["Twyla:Rpc:Server:MaxRequestBodyBytes"] = "2048",
        }).Build();
        await using var services = new ServiceCollection().AddRpc(configuration).BuildServiceProvider();
        var client = services.GetRequiredService<RpcClient>();

        var known = await client.CallAsync<GetBooking, Booking>("test.get_booking", new GetBooking("C1"), CancellationToken.None);
        var unknown = await client.CallAsync<GetBooking, Booking>("other.get_booking", new GetBooking("C1"), CancellationToken.None);

        Assert.IsType<RpcResult<Booking>.Success>(known);
        Assert.Equal(RpcFailureCodes.UnknownService, Assert.IsType<RpcResult<Booking>.Failure>(unknown).Code);
        Assert.Equal(TimeSpan.FromSeconds(4), client.Settings.CallDefaults.Timeout);
        Assert.Equal(2048, services.GetRequiredService<IOptions<RpcServerOptions>>().Value.MaxRequestBodyBytes);
    }
}
