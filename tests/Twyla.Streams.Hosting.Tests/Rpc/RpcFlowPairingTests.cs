using System.Net;
using Akka.Hosting;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Rpc;

/// <summary>
/// Served flows that do not answer one request per request in order: each caller must still get its own answer, and
/// a caller whose request the flow drops must get a failure, never another caller's answer and never silence.
/// </summary>
public sealed class RpcFlowPairingTests : IAsyncLifetime
{
    private const int Callers = 60;

    // Several seconds: the answered callers must get their answers within it even on a loaded machine.
    private static readonly TimeSpan AnswerTimeout = TimeSpan.FromSeconds(3);

    private WebApplication? _app;
    private RpcClient? _client;

    public async ValueTask InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.Configure<RpcServerOptions>(o => o.FlowAnswerTimeout = AnswerTimeout);
        builder.Services.AddAkka("rpc-pairing-tests", _ => { });
        var app = builder.Build();

        // Later requests overtake earlier ones (the delay shrinks as the number grows), through the escape hatch of
        // FlowWithContext: a flow over (element, context) pairs.
        app.MapRpcFlow("unordered", FlowWithContext.Create<Echo, RpcContext>().Via(
            Flow.Create<(Echo Request, RpcContext Context)>().SelectAsyncUnordered(16, async call =>
            {
                await Task.Delay((Callers - Number(call.Request)) % 8 * 15);
                return (new Echo(call.Request.Text.ToUpperInvariant()), call.Context);
            })));

        app.MapRpcFlow("filtered", FlowWithContext.Create<Echo, RpcContext>()
            .Where(e => !e.Text.StartsWith("skip", StringComparison.Ordinal))
            .Select(e => new Echo(e.Text.ToUpperInvariant())));

        await app.StartAsync();
        _client = new RpcClient(RpcClientSettings.Create().WithService("test", new Uri(app.Urls.First())).WithoutCircuitBreaker());
        _app = app;
    }

    public async ValueTask DisposeAsync()
    {
        _client?.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }

    [Fact]
    public async Task MapRpcFlow_should_give_every_caller_its_own_answer_when_the_flow_reorders()
    {
        var results = await Task.WhenAll(Enumerable.Range(0, Callers).Select(i => CallAsync("unordered", $"call-{i}")));

        for (var i = 0; i < Callers; i++)
        {
            var success = results[i] as RpcResult<Echo>.Success ?? throw new Xunit.Sdk.XunitException($"call {i} ended as {results[i]}");
            Assert.Equal(new Echo($"CALL-{i}"), success.Value);
        }
    }

    [Fact]
    public async Task MapRpcFlow_should_fail_the_callers_whose_requests_the_flow_drops_and_answer_the_others()
    {
        var texts = Enumerable.Range(0, Callers).Select(i => i % 3 == 1 ? $"skip-{i}" : $"call-{i}").ToArray();

        var results = await Task.WhenAll(texts.Select(text => CallAsync("filtered", text)));

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

    private Task<RpcResult<Echo>> CallAsync(string procedure, string text) =>
        _client!.CallAsync<Echo, Echo>($"test.{procedure}", new Echo(text), CancellationToken.None);

    private static int Number(Echo e) => int.Parse(e.Text[(e.Text.IndexOf('-', StringComparison.Ordinal) + 1)..], System.Globalization.CultureInfo.InvariantCulture);
}
