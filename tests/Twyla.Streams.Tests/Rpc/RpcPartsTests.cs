using System.Diagnostics;
using System.Net;
using System.Text;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Tests.Rpc;

/// <summary>The RPC client's parts without a server: the resilience pipeline's retry rule and breaker, and the error mapping.</summary>
public sealed class RpcPartsTests
{
    private static readonly RpcTarget Target = new("navitaire-api.get_booking", "navitaire-api", new Uri("http://localhost:1/rpc/get_booking"));

    private static RpcCall Call(RpcCallSettings settings, CancellationToken token = default) =>
        new(Target, settings, [], "corr", null, null, Stopwatch.GetTimestamp(), settings.Timeout, token);

    private static Func<RpcCall, Task<RpcAttempt>> Failing(Func<int, RpcAttempt> attempt, List<int> calls) => _ =>
    {
        calls.Add(calls.Count + 1);
        return Task.FromResult(attempt(calls.Count));
    };

    private static readonly RpcAttempt Transient = RpcAttempt.Error(RpcFailureCodes.ServerError, "HTTP 503", 503, transient: true);

    [Fact]
    public async Task An_idempotent_call_should_be_tried_up_to_its_attempts_on_transient_failures()
    {
        var resilience = new RpcResilience(RpcClientSettings.Create());
        var settings = RpcCallSettings.Create().WithIdempotent(true).WithRetries(3, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2));
        var calls = new List<int>();

        var result = await resilience.ExecuteAsync(Call(settings), Failing(_ => Transient, calls));

        Assert.Equal(3, calls.Count);
        Assert.Equal(RpcFailureCodes.ServerError, result.Code);
    }

    [Fact]
    public async Task A_call_should_not_be_retried_when_not_idempotent_or_when_the_failure_is_not_transient()
    {
        var resilience = new RpcResilience(RpcClientSettings.Create());
        var notIdempotent = new List<int>();
        await resilience.ExecuteAsync(Call(RpcCallSettings.Create()), Failing(_ => Transient, notIdempotent));
        Assert.Single(notIdempotent);

        var permanent = new List<int>();
        var idempotent = RpcCallSettings.Create().WithIdempotent(true).WithRetries(3, TimeSpan.FromMilliseconds(1), TimeSpan.FromMilliseconds(2));
        await resilience.ExecuteAsync(Call(idempotent), Failing(_ => RpcAttempt.Error(RpcFailureCodes.BadRequest, "HTTP 400", 400, transient: false), permanent));
        Assert.Single(permanent);
    }

    [Fact]
    public async Task A_retry_whose_backoff_would_end_after_the_deadline_should_not_be_made()
    {
        var resilience = new RpcResilience(RpcClientSettings.Create());
        var settings = RpcCallSettings.Create().WithIdempotent(true).WithTimeout(TimeSpan.FromMilliseconds(500))
            .WithRetries(5, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        var calls = new List<int>();

        var result = await resilience.ExecuteAsync(Call(settings), Failing(_ => Transient, calls));

        Assert.Single(calls);
        Assert.Equal(RpcAttemptKind.Error, result.Kind); // the failure is the answer, not a timeout after a wait
    }

    [Fact]
    public async Task The_breaker_of_a_service_should_open_after_repeated_failures_and_answer_circuit_open()
    {
        var resilience = new RpcResilience(RpcClientSettings.Create().WithCircuitBreaker(0.5, 2, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)));
        var calls = new List<int>();
        for (var i = 0; i < 3; i++)
        {
            await resilience.ExecuteAsync(Call(RpcCallSettings.Create()), Failing(_ => Transient, calls));
        }

        var open = await resilience.ExecuteAsync(Call(RpcCallSettings.Create()), Failing(_ => RpcAttempt.Ok([], 200), calls));
        Assert.Equal(RpcFailureCodes.CircuitOpen, open.Code);
        Assert.False(open.Transient);
    }

    [Theory]
    [InlineData(503, "application/problem+json", """{"code":"booking_store_down","detail":"the store is down"}""", "booking_store_down", true)]
    [InlineData(404, "application/problem+json", """{"code":"booking_not_found","title":"No booking"}""", "booking_not_found", false)]
    [InlineData(400, "text/plain", "bad", RpcFailureCodes.BadRequest, false)]
    [InlineData(429, null, "", RpcFailureCodes.HttpError, true)]
    public async Task Sender_should_map_an_error_response_to_its_code_and_whether_it_is_transient(
        int status, string? mediaType, string body, string code, bool transient)
    {
        using var http = new HttpClient(new Answer(status, mediaType, body));
        var attempt = await new RpcHttpSender(http).SendAsync(Call(RpcCallSettings.Create()));
        Assert.Equal(code, attempt.Code);
        Assert.Equal(transient, attempt.Transient);
        Assert.Equal(status, attempt.Status);
    }

    private sealed class Answer(int status, string? mediaType, string body) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
            if (mediaType is not null)
            {
                content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue(mediaType);
            }

            return Task.FromResult(new HttpResponseMessage((HttpStatusCode)status) { Content = content });
        }
    }
}
