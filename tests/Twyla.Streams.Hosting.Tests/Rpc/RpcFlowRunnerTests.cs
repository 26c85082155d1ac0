using Akka.Actor;
using Akka.Configuration;
using Akka.Streams.Dsl;
using Microsoft.Extensions.DependencyInjection;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Rpc;

/// <summary>
/// The runner behind <c>MapRpcFlow</c> when the actor system is slow to start the flow's materializer: the case that
/// stalled a whole test process (200 callers blocked their thread-pool threads on Akka's synchronous materialization
/// until its 20 s creation timeout, and the materializer could not start for want of a thread).
/// </summary>
public sealed class RpcFlowRunnerTests
{
    [Fact]
    public async Task The_first_requests_should_not_block_their_threads_while_the_flow_materializer_starts()
    {
        // One thread for actors and one for the system's own (guardians), both occupied by the test: no actor can
        // start until it lets go, as on a process whose thread pool is exhausted.
        using var system = ActorSystem.Create(
            "runner-" + Guid.NewGuid().ToString("N")[..8],
            ConfigurationFactory.ParseString(
                """
                akka.actor.default-dispatcher {
                  executor = fork-join-executor
                  fork-join-executor { parallelism-min = 1, parallelism-factor = 1.0, parallelism-max = 1 }
                }
                akka.actor.internal-dispatcher {
                  executor = fork-join-executor
                  fork-join-executor { parallelism-min = 1, parallelism-factor = 1.0, parallelism-max = 1 }
                }
                """));
        await using var services = new ServiceCollection().AddSingleton(system).BuildServiceProvider();
        var runner = new RpcFlowRunner<Echo, Echo>(
            "upper", FlowWithContext.Create<Echo, RpcContext>().Select(e => new Echo(e.Text.ToUpperInvariant())), new RpcServerOptions(), services);
        using var release = new ManualResetEventSlim();
        foreach (var dispatcher in new[] { "akka.actor.default-dispatcher", "akka.actor.internal-dispatcher" })
        {
            using var entered = new ManualResetEventSlim();
            system.ActorOf(Props.Create(() => new Occupier(entered, release)).WithDispatcher(dispatcher)).Tell("occupy");
            Assert.True(entered.Wait(TimeSpan.FromSeconds(10)), $"the actor occupying {dispatcher} did not run");
        }

        Task<Echo>[] calls;
        var invoke = Task.Factory.StartNew(
            () => Enumerable.Range(0, 3).Select(i => runner.InvokeAsync(new Echo($"call-{i}"), new RpcContext("upper", $"corr-{i}", null, string.Empty), CancellationToken.None)).ToArray(),
            CancellationToken.None,
            TaskCreationOptions.LongRunning,
            TaskScheduler.Default);
        try
        {
            // The calls wait for the materializer without holding their thread: InvokeAsync returns at once.
            var returned = await Task.WhenAny(invoke, Task.Delay(TimeSpan.FromSeconds(3), CancellationToken.None));
            Assert.True(returned == invoke, "InvokeAsync blocked its caller's thread while the flow's materializer started");
            calls = await invoke;
        }
        finally
        {
            release.Set();
        }

        var responses = await Task.WhenAll(calls).WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
        Assert.Equal(["CALL-0", "CALL-1", "CALL-2"], responses.Select(r => r.Text));
    }

    private sealed class Occupier : ReceiveActor
    {
        public Occupier(ManualResetEventSlim entered, ManualResetEventSlim release) =>
            Receive<string>(_ =>
            {
                entered.Set();
                release.Wait(TimeSpan.FromSeconds(60));
            });
    }
}
