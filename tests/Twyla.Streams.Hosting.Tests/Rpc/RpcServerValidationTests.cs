using System.Net;
using System.Text;
using System.Text.Json;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Rpc;

[Collection(RpcCollection.Name)]
public sealed class RpcServerValidationTests(RpcServerFixture server)
{
    private static readonly HttpClient Http = new();

    [Fact]
    public async Task MapRpc_should_answer_400_naming_the_member_when_a_required_member_is_missing()
    {
        var (status, mediaType, problem) = await PostAsync("/rpc/get_booking", new StringContent("""{"passenger":"x"}""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("application/problem+json", mediaType);
        Assert.Equal("invalid_request", problem.GetProperty("code").GetString());
        Assert.Equal("pnr", problem.GetProperty("member").GetString());
        Assert.Contains("pnr", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task MapRpc_should_answer_400_naming_the_member_when_the_json_is_malformed()
    {
        var (status, _, problem) = await PostAsync("/rpc/get_booking", new StringContent("""{"pnr": 12}""", Encoding.UTF8, "application/json"));
        var (brokenStatus, _, broken) = await PostAsync("/rpc/get_booking", new StringContent("""{"pnr": "A1""", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        Assert.Equal("$.pnr", problem.GetProperty("member").GetString());
        Assert.Equal(HttpStatusCode.BadRequest, brokenStatus);
        Assert.Equal("invalid_request", broken.GetProperty("code").GetString());
    }

    [Fact]
    public async Task Client_should_see_a_400_failure_with_the_member_named_for_an_invalid_request()
    {
        using var client = server.Client(s => s);
        var request = JsonDocument.Parse("{}").RootElement;

        var result = await client.CallAsync<JsonElement, JsonElement>("test.get_booking", request, CancellationToken.None);

        var failure = Assert.IsType<RpcResult<JsonElement>.Failure>(result);
        Assert.Equal(400, failure.Status);
        Assert.Equal(RpcFailureCodes.InvalidRequest, failure.Code);
        Assert.Contains("pnr", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task MapRpc_should_answer_413_to_an_oversized_body_with_or_without_content_length()
    {
        using var client = server.Client(s => s);
        var big = new GetBooking(new string('x', (int)RpcServerFixture.BodyLimit * 2));

        var result = await client.CallAsync<GetBooking, Booking>("test.get_booking", big, CancellationToken.None);

        var failure = Assert.IsType<RpcResult<Booking>.Failure>(result);
        Assert.Equal(413, failure.Status);
        Assert.Equal(RpcFailureCodes.PayloadTooLarge, failure.Code);

        var chunked = new StreamContent(new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(big)));
        chunked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
        chunked.Headers.ContentLength = null;
        var (status, _, problem) = await PostAsync("/rpc/get_booking", chunked, chunkedTransfer: true);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        Assert.Equal("payload_too_large", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task MapRpc_should_answer_a_404_problem_under_rpc_for_an_unknown_procedure()
    {
        var (status, mediaType, problem) = await PostAsync("/rpc/nope", new StringContent("{}", Encoding.UTF8, "application/json"));

        Assert.Equal(HttpStatusCode.NotFound, status);
        Assert.Equal("application/problem+json", mediaType);
        Assert.Equal("unknown_procedure", problem.GetProperty("code").GetString());
    }

    [Fact]
    public async Task MapRpc_should_answer_405_to_a_method_other_than_post()
    {
        using var response = await Http.GetAsync(new Uri(server.BaseAddress, "/rpc/get_booking"));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal("method_not_allowed", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("code").GetString());
    }

    [Fact]
    public async Task MapRpc_should_answer_504_when_the_caller_deadline_passes()
    {
        var key = Guid.NewGuid().ToString("N");
        var (handlerStarted, handlerCancelled) = server.WatchSlow(key);
        var content = new StringContent(JsonSerializer.Serialize(new Job(1, "stall", key), EventBusSettings.DefaultJsonOptions), Encoding.UTF8, "application/json");

        var post = PostAsync("/rpc/slow", content, deadlineMs: "1000"); // a caller that keeps waiting
        await handlerStarted.WaitAsync(TimeSpan.FromSeconds(1)); // the handler must run for its token to be cancelled
        var (status, mediaType, problem) = await post;

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        Assert.Equal("application/problem+json", mediaType);
        Assert.Equal("deadline_exceeded", problem.GetProperty("code").GetString());
        await handlerCancelled.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task MapRpcFlow_should_answer_concurrent_callers_through_one_flow()
    {
        using var client = server.Client(s => s.WithoutCircuitBreaker()); // one slow call must not turn into many open-circuit failures

        var calls = Enumerable.Range(0, 200)
            .Select(i => client.CallAsync<Echo, Echo>("test.upper", new Echo($"call-{i}"), CancellationToken.None))
            .ToArray();
        var results = await Task.WhenAll(calls);

        for (var i = 0; i < results.Length; i++)
        {
            var success = results[i] as RpcResult<Echo>.Success ?? throw new Xunit.Sdk.XunitException($"call {i} ended as {results[i]}");
            Assert.Equal(new Echo($"CALL-{i}"), success.Value);
        }
    }

    [Fact]
    public async Task MapRpcFlow_should_answer_500_when_the_flow_fails_and_serve_again_afterwards()
    {
        using var client = server.Client(s => s.WithoutCircuitBreaker());

        var crashed = await client.CallAsync<Echo, Echo>("test.crashy", new Echo("crash"), CancellationToken.None);
        var next = await client.CallAsync<Echo, Echo>("test.crashy", new Echo("fine"), CancellationToken.None);

        var failure = Assert.IsType<RpcResult<Echo>.Failure>(crashed);
        Assert.Equal(500, failure.Status);
        Assert.Equal(RpcFailureCodes.InternalError, failure.Code);
        Assert.Equal(new Echo("fine!"), Assert.IsType<RpcResult<Echo>.Success>(next).Value);
    }

    private async Task<(HttpStatusCode Status, string? MediaType, JsonElement Problem)> PostAsync(
        string path, HttpContent content, bool chunkedTransfer = false, string? deadlineMs = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, path)) { Content = content };
        if (deadlineMs is not null)
        {
            request.Headers.Add(RpcHeaders.DeadlineMs, deadlineMs);
        }

        request.Headers.TransferEncodingChunked = chunkedTransfer ? true : null;
        using var response = await Http.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, response.Content.Headers.ContentType?.MediaType, JsonDocument.Parse(body).RootElement);
    }
}
