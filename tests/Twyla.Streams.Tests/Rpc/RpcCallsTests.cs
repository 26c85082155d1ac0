using System.Net;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Tests.Rpc;

/// <summary>One call from request to result (<see cref="RpcCalls"/>), over an HTTP handler that records what it was sent.</summary>
public sealed class RpcCallsTests
{
    private sealed record Ping(string Text);

    private sealed class Recording : HttpMessageHandler
    {
        public List<HttpRequestMessage> Sent { get; } = [];

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Sent.Add(request);
            return Task.FromResult(new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent("""{"text":"pong"}""") });
        }
    }

    private readonly Recording _http = new();

    private RpcCalls Calls(RpcClientSettings settings) =>
        new(settings, new RpcHttpSender(new HttpClient(_http)), new RpcResilience(settings));

    private static RpcClientSettings Settings => RpcClientSettings.Create().WithService("echo", new Uri("http://echo.test/")).WithoutCircuitBreaker();

    [Fact]
    public async Task A_call_goes_to_the_procedures_path_with_the_correlation_id_and_maps_the_answer_to_a_Success()
    {
        var calls = Calls(Settings);

        var result = await calls.InvokeAsync<Ping, Ping>(
            calls.CreateTarget("echo.ping", "procedure"), new Ping("ping"), RpcCallSettings.Create().WithCorrelationId("c-1"), ambient: null, CancellationToken.None);

        Assert.Equal(new Ping("pong"), Assert.IsType<RpcResult<Ping>.Success>(result).Value);
        var sent = Assert.Single(_http.Sent);
        Assert.Equal("http://echo.test/rpc/ping", sent.RequestUri!.AbsoluteUri);
        Assert.Equal("c-1", sent.Headers.GetValues(RpcHeaders.CorrelationId).Single());
    }

    [Fact]
    public async Task A_caller_whose_deadline_has_passed_gets_a_Timeout_and_nothing_is_sent()
    {
        var calls = Calls(Settings);
        var ambient = new RpcContext("booking.get", "c-2", DateTimeOffset.UtcNow.AddSeconds(-1), "");

        var result = await calls.InvokeAsync<Ping, Ping>(calls.CreateTarget("echo.ping", "procedure"), new Ping("late"), RpcCallSettings.Default, ambient, CancellationToken.None);

        Assert.Equal(TimeSpan.Zero, Assert.IsType<RpcResult<Ping>.Timeout>(result).After);
        Assert.Empty(_http.Sent);
    }

    [Fact]
    public async Task A_service_without_an_address_or_template_is_a_Failure_naming_the_configuration_key_and_nothing_is_sent()
    {
        var calls = Calls(Settings.WithoutUrlTemplate());

        var result = await calls.InvokeAsync<Ping, Ping>(calls.CreateTarget("billing.bill", "procedure"), new Ping("x"), RpcCallSettings.Default, null, CancellationToken.None);

        var failure = Assert.IsType<RpcResult<Ping>.Failure>(result);
        Assert.Equal(RpcFailureCodes.UnknownService, failure.Code);
        Assert.Contains("Twyla:Rpc:Services:billing", failure.Message, StringComparison.Ordinal);
        Assert.Empty(_http.Sent);
    }
}
