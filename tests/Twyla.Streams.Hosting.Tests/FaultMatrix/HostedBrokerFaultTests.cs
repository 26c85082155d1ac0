using Twyla.Streams.Hosting.Tests.Infrastructure;
using Twyla.Streams.Rpc;
using Twyla.Streams.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.FaultMatrix;

/// <summary>Hosting part of the fault matrix on a broker of the class's own: kill -9, connection closed, memory alarm, queue deleted.</summary>
public sealed class HostedBrokerFaultTests(ITestOutputHelper output, PrivateBroker broker)
    : HostedFaultSpec(output), IClassFixture<PrivateBroker>
{
    protected override string BrokerUri => broker.Uri;

    [Fact]
    public async Task Broker_kill_9_should_fail_rpc_calls_and_the_hosted_listener_should_handle_every_confirmed_event_once_it_is_back()
    {
        await RunAsync(broker.KillAsync, broker.StartAsync, result => Assert.IsType<RpcResult<Billed>.Failure>(result));
    }

    [Fact]
    public async Task Connection_closed_by_the_broker_should_leave_no_confirmed_event_unhandled_and_rpc_calls_should_succeed_again()
    {
        await RunAsync(broker.Node.CloseAllConnectionsAsync, () => Task.CompletedTask, duringFault: null);
    }

    [Fact]
    public async Task Memory_alarm_should_end_rpc_calls_by_their_deadline_and_every_confirmed_event_should_be_handled_once_it_clears()
    {
        await RunAsync(
            () => broker.Node.MemoryAlarmAsync(on: true),
            () => broker.Node.MemoryAlarmAsync(on: false),
            result => Assert.True(
                result is RpcResult<Billed>.Failure || (result is RpcResult<Billed>.Timeout t && t.After <= CallTimeout + Tolerance),
                $"expected a Failure or a Timeout at the deadline, got {result}"));
    }

    [Fact]
    public async Task Queue_deleted_under_a_hosted_listener_should_restart_it_redeclare_the_queue_and_consume_new_events()
    {
        await RunAsync(
            async () =>
            {
                await broker.Node.DeleteQueueAsync(Queue);
                await AwaitConditionAsync(() => Task.FromResult(Listener(Group).Restarts >= 1), TimeSpan.FromSeconds(30), cancellationToken: Ct);
                await AwaitConditionAsync(async () => await broker.Node.ConsumerCountAsync(Queue) == 1, TimeSpan.FromSeconds(30), cancellationToken: Ct);
            },
            () => Task.CompletedTask,
            duringFault: null,
            emitsDuringFaultCount: false);
    }
}
