using System.Diagnostics;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Observability;

/// <summary>
/// A procedure served by a flow runs its stages on the stream's actors, outside the request's async context.
/// <c>SelectAsyncInCallContext</c> puts the call back around the stage's code: the log scope, the correlation id an
/// RPC call from it passes on, the server span as parent, and the call's token.
/// </summary>
public sealed class FlowCallScopeTests
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task A_flow_stage_run_in_the_call_should_log_call_and_trace_as_a_handler_does()
    {
        var logs = new LogScopeTests.ScopeCapture();
        var id = Guid.NewGuid().ToString("N")[..8];
        var outer = "obs_flow_" + id;
        var inner = "obs_inner_" + id;
        RpcClient? self = null;
        await using var host = await ObservedHost.StartAsync(
            "obs-flow",
            "twyla.obs-flow." + id,
            _ => { },
            app =>
            {
                var log = app.Services.GetRequiredService<ILogger<FlowCallScopeTests>>();
                app.MapRpc<string, string>(inner, (text, _) =>
                {
                    log.LogInformation("inner {Text}", text);
                    return Task.FromResult(text + "!");
                });
                app.MapRpcFlow(outer, FlowWithContext.Create<string, RpcContext>().SelectAsyncInCallContext(4, async (string text, CancellationToken token) =>
                {
                    log.LogInformation("outer {Text}", text);
                    var answer = await self!.CallAsync<string, string>($"obs-flow.{inner}", text, token);
                    return answer is RpcResult<string>.Success success ? success.Value : "failed: " + answer;
                }));
            },
            logs: logs);
        using var client = new RpcClient(RpcClientSettings.Create().WithService("obs-flow", host.Address));
        self = client;

        var result = await client.CallAsync<string, string>(
            $"obs-flow.{outer}", "ping", RpcCallSettings.Create().WithCorrelationId("corr-flow-1"), Ct);

        Assert.Equal("ping!", Assert.IsType<RpcResult<string>.Success>(result).Value);
        var outerLine = logs.Lines.Single(l => l.Message == "outer ping").Scope;
        Assert.Equal(outer, outerLine["Procedure"]);
        Assert.Equal("corr-flow-1", outerLine["CorrelationId"]);
        var innerLine = logs.Lines.Single(l => l.Message == "inner ping").Scope;
        Assert.Equal(inner, innerLine["Procedure"]);
        Assert.Equal("corr-flow-1", innerLine["CorrelationId"]); // passed on by the call made from the stage

        await ObservabilityMetricsTests.WaitUntilAsync(() => host.Spans.Count(s => s.Kind == ActivityKind.Server && Method(s) is { } m && (m == outer || m == inner)) == 2);
        var outerSpan = host.Spans.Single(s => s.Kind == ActivityKind.Server && Method(s) == outer);
        var call = host.Spans.Single(s => s.Kind == ActivityKind.Client && Method(s) == inner);
        var innerSpan = host.Spans.Single(s => s.Kind == ActivityKind.Server && Method(s) == inner);
        Assert.Equal(outerSpan.SpanId, call.ParentSpanId);
        Assert.Equal(outerSpan.TraceId, innerSpan.TraceId);
    }

    [Fact]
    public async Task The_token_of_a_flow_stage_should_be_cancelled_when_the_callers_deadline_passes()
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var procedure = "obs_slow_" + id;
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await ObservedHost.StartAsync(
            "obs-slow",
            "twyla.obs-slow." + id,
            _ => { },
            app => app.MapRpcFlow(procedure, FlowWithContext.Create<string, RpcContext>().SelectAsyncInCallContext(1, async (string text, CancellationToken token) =>
            {
                if (text == "warm")
                {
                    return text;
                }

                try
                {
                    await Task.Delay(Timeout.Infinite, token);
                    return text;
                }
                catch (OperationCanceledException)
                {
                    cancelled.TrySetResult();
                    return "too late";
                }
            })));
        using var client = new RpcClient(RpcClientSettings.Create().WithService("obs-slow", host.Address));
        // The first call materializes the flow (and starts the actor system's materializer): not within 300 ms on a busy machine.
        Assert.IsType<RpcResult<string>.Success>(await client.CallAsync<string, string>($"obs-slow.{procedure}", "warm", Ct));

        var result = await client.CallAsync<string, string>(
            $"obs-slow.{procedure}", "ping", RpcCallSettings.Create().WithTimeout(TimeSpan.FromMilliseconds(300)), Ct);

        Assert.IsType<RpcResult<string>.Timeout>(result);
        await cancelled.Task.WaitAsync(TimeSpan.FromSeconds(30)); // without the token the stage would wait forever
    }

    [Fact]
    public async Task A_flow_that_fails_should_log_the_failure_in_the_failing_calls_scope_not_in_the_call_that_started_it()
    {
        var logs = new LogScopeTests.ScopeCapture();
        var id = Guid.NewGuid().ToString("N")[..8];
        var procedure = "obs_boom_" + id;
        await using var host = await ObservedHost.StartAsync(
            "obs-boom",
            "twyla.obs-boom." + id,
            _ => { },
            app => app.MapRpcFlow(procedure, FlowWithContext.Create<string, RpcContext>().SelectAsyncInCallContext(4, async (string text) =>
            {
                await Task.Yield();
                return text == "throw" ? throw new InvalidOperationException("stage boom " + id) : text;
            })),
            logs: logs);
        using var client = new RpcClient(RpcClientSettings.Create().WithService("obs-boom", host.Address).WithoutCircuitBreaker());

        // The first call materializes the flow; the second fails it.
        Assert.IsType<RpcResult<string>.Success>(await client.CallAsync<string, string>(
            $"obs-boom.{procedure}", "ok", RpcCallSettings.Create().WithCorrelationId("corr-first"), Ct));
        var failed = await client.CallAsync<string, string>($"obs-boom.{procedure}", "throw", RpcCallSettings.Create().WithCorrelationId("corr-failing"), Ct);

        Assert.Contains("corr-failing", Assert.IsType<RpcResult<string>.Failure>(failed).Message, StringComparison.Ordinal);
        var boom = logs.Failures.Where(f => Chain(f.Exception).Any(e => e.Message == "stage boom " + id)).ToList();
        Assert.NotEmpty(boom);
        Assert.Contains(boom, f => Equals(f.Scope.GetValueOrDefault("CorrelationId"), "corr-failing") && Equals(f.Scope.GetValueOrDefault("Procedure"), procedure));
        Assert.DoesNotContain(boom, f => Equals(f.Scope.GetValueOrDefault("CorrelationId"), "corr-first"));
    }

    [Fact]
    public async Task A_stage_that_honours_a_given_up_calls_token_should_not_fail_the_flow_for_the_other_callers()
    {
        var logs = new LogScopeTests.ScopeCapture();
        var id = Guid.NewGuid().ToString("N")[..8];
        var procedure = "obs_shared_" + id;
        var slowStarted = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await ObservedHost.StartAsync(
            "obs-shared",
            "twyla.obs-shared." + id,
            _ => { },
            app => app.MapRpcFlow(procedure, FlowWithContext.Create<string, RpcContext>().SelectAsyncInCallContext(2, async (string text, CancellationToken token) =>
            {
                if (text == "impatient")
                {
                    await Task.Delay(Timeout.Infinite, token); // honours the token: throws once the caller gave up
                }
                else if (text == "patient")
                {
                    slowStarted.TrySetResult();
                    await release.Task.WaitAsync(token);
                }

                return text;
            })),
            logs: logs);
        using var client = new RpcClient(RpcClientSettings.Create().WithService("obs-shared", host.Address).WithoutCircuitBreaker());
        Assert.IsType<RpcResult<string>.Success>(await client.CallAsync<string, string>($"obs-shared.{procedure}", "warm", Ct));

        var patient = client.CallAsync<string, string>($"obs-shared.{procedure}", "patient", RpcCallSettings.Create().WithTimeout(TimeSpan.FromMinutes(1)), Ct);
        await slowStarted.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var impatient = await client.CallAsync<string, string>(
            $"obs-shared.{procedure}", "impatient", RpcCallSettings.Create().WithTimeout(TimeSpan.FromMilliseconds(300)), Ct);
        Assert.IsType<RpcResult<string>.Timeout>(impatient);
        var after = client.CallAsync<string, string>($"obs-shared.{procedure}", "after", RpcCallSettings.Create().WithTimeout(TimeSpan.FromMinutes(1)), Ct);
        release.SetResult(); // answers keep their order: "after" leaves the flow behind "patient"

        Assert.Equal("patient", Assert.IsType<RpcResult<string>.Success>(await patient).Value); // in flight when the other gave up
        Assert.Equal("after", Assert.IsType<RpcResult<string>.Success>(await after).Value);
        Assert.DoesNotContain(logs.Lines, l => l.Message.Contains($"The flow serving {procedure} failed", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_context_not_made_by_the_endpoint_should_still_be_current_in_the_stage()
    {
        // A test feeding the flow its own contexts: no server behind it, the stage still sees the context.
        using var system = Akka.Actor.ActorSystem.Create("flow-call-scope", "akka.loglevel = WARNING");
        var context = new RpcContext("price", "corr-own", null, "");
        var seen = await Source.From([("ping", context)])
            .Via(FlowWithContext.Create<string, RpcContext>()
                .SelectAsyncInCallContext(1, (string text, CancellationToken token) =>
                    Task.FromResult((RpcContext.Current?.CorrelationId, token.CanBeCanceled))))
            .RunWith(Sink.First<((string?, bool), RpcContext)>(), system.Materializer());

        Assert.Equal(("corr-own", false), seen.Item1);
        Assert.Same(context, seen.Item2);
        Assert.Null(RpcContext.Current); // nothing leaked to the test's own context
    }

    [Fact]
    public void Bad_arguments_should_be_refused_where_the_flow_is_built()
    {
        var flow = FlowWithContext.Create<string, RpcContext>();

        Assert.Throws<ArgumentOutOfRangeException>(() => flow.SelectAsyncInCallContext(0, (string s) => Task.FromResult(s)));
        Assert.Throws<ArgumentNullException>(() => flow.SelectAsyncInCallContext(1, (Func<string, Task<string>>)null!));
    }

    private static IEnumerable<Exception> Chain(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    private static string? Method(Activity span) => span.GetTagItem("rpc.method") as string;
}
