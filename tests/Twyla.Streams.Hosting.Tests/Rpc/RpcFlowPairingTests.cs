using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Rpc;

/// <summary>
/// Served flows that do not answer one request per request in order: each caller must still get its own answer, and
/// a caller whose request the flow drops must get a failure, never another caller's answer and never silence.
/// </summary>
[Collection(RpcCollection.Name)]
public sealed class RpcFlowPairingTests(RpcServerFixture server)
{
    private const int Callers = RpcServerFixture.UnorderedCallers;

    [Fact]
    public async Task MapRpcFlow_should_give_every_caller_its_own_answer_when_the_flow_reorders()
    {
        using var client = server.Client(s => s.WithoutCircuitBreaker());

        var results = await Task.WhenAll(Enumerable.Range(0, Callers).Select(i => CallAsync(client, "unordered", $"call-{i}")));

        for (var i = 0; i < Callers; i++)
        {
            var success = results[i] as RpcResult<Echo>.Success ?? throw new Xunit.Sdk.XunitException($"call {i} ended as {results[i]}");
            Assert.Equal(new Echo($"CALL-{i}"), success.Value);
        }
    }

    [Fact]
    public async Task MapRpcFlow_should_fail_the_callers_whose_requests_the_flow_drops_and_answer_the_others()
    {
        using var client = server.Client(s => s.WithoutCircuitBreaker());
        var texts = Enumerable.Range(0, Callers).Select(i => i % 3 == 1 ? $"skip-{i}" : $"call-{i}").ToArray();

        var results = await Task.WhenAll(texts.Select(text => CallAsync(client, "filtered", text)));

        for (var i = 0; i < Callers; i++)
        {
            if (texts[i].StartsWith("skip", StringComparison.Ordinal))
            {
                var failure = results[i] as RpcResult<Echo>.Failure ?? throw new Xunit.Sdk.XunitException($"dropped call {i} ended as {results[i]}");
                Assert.Equal(500, failure.Status);
                Assert.Equal(RpcFailureCodes.NoAnswer, failure.Code);
            }
            else
            {
                var success = results[i] as RpcResult<Echo>.Success ?? throw new Xunit.Sdk.XunitException($"call {i} ended as {results[i]}");
                Assert.Equal(new Echo($"CALL-{i}"), success.Value);
            }
        }
    }

    private static Task<RpcResult<Echo>> CallAsync(RpcClient client, string procedure, string text) =>
        client.CallAsync<Echo, Echo>($"test.{procedure}", new Echo(text), CancellationToken.None);
}
