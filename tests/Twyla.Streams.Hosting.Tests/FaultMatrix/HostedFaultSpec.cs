using System.Collections.Concurrent;
using Akka.Hosting;
using Twyla.Streams.Events;
using Twyla.Streams.Hosting.Listeners;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Twyla.Streams.Hosting.Tests.RabbitMq;
using Twyla.Streams.Rpc;
using Twyla.Streams.Testing;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.FaultMatrix;

/// <summary>
/// The Hosting part of the fault matrix (tests/README.md): a hosted listener whose handler calls
/// <c>bus.EmitAsync(evt.Derive(...))</c> (the README's pattern) and a <c>MapRpcFlow</c> procedure that emits, both on
/// the host's bus, through one broker fault (both from tests/Shared/BillingEntryPoints.cs). Events are counted per
/// payload number: at-least-once, no loss.
/// </summary>
public abstract class HostedFaultSpec(ITestOutputHelper output) : RabbitMqHostingSpec(output)
{
    /// <summary>Documented: once the broker is back, emits and calls succeed again within this time.</summary>
    protected static readonly TimeSpan Recovery = TimeSpan.FromSeconds(15);

    /// <summary>Added to documented times on a loaded 2-core machine; waits are bounds for hangs.</summary>
    protected static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(10);

    /// <summary>The deadline of each RPC call.</summary>
    protected static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);

    private readonly ConcurrentDictionary<int, int> _handled = new();
    private readonly ConcurrentDictionary<int, byte> _confirmed = new();

    protected string Group { get; } = Broker.UniqueGroup("billing");

    protected string Queue => $"{Pattern}.{Group}";

    // Retries 1 s, 5 s, 15 s: shorter than the default, still longer in total (36 s) than a broker restart here.
    protected override void ConfigureListeners(AkkaConfigurationBuilder builder) =>
        builder.WithTwylaScopedListener(
            Pattern, Group, BillingListener.EmitThenCount<Booking>(b => b.N, _handled), BillingListener.Options(TimeSpan.FromSeconds(15)));

    /// <summary>
    /// Emits events before the fault, keeps emitting during it (counting those confirmed), calls the procedure during
    /// the fault and checks <paramref name="duringFault"/> on the result; after <paramref name="faultOff"/>, checks that
    /// calls succeed again, the listener is Running again, every confirmed event was handled and none dead-lettered.
    /// </summary>
    /// <param name="faultOn">Starts the fault.</param>
    /// <param name="faultOff">Ends it (the broker is back).</param>
    /// <param name="duringFault">Checks a call made during the fault; null when the fault is over at once.</param>
    /// <param name="emitsDuringFaultCount">False when events emitted during the fault are lost by design (their queue is gone).</param>
    protected async Task RunAsync(Func<Task> faultOn, Func<Task> faultOff, Action<RpcResult<Billed>>? duringFault, bool emitsDuringFaultCount = true)
    {
        await using var emitter = SecondBus();
        await using var rpc = await StartRpcServerAsync();
        await emitter.DeclareGroupAsync(Pattern, Group, ListenSettings.Default, Ct);
        await AwaitConditionAsync(() => Task.FromResult(Listener(Group).State == ListenerState.Running), TimeSpan.FromSeconds(30), cancellationToken: Ct);
        await EmitAsync(emitter, 1, 10);
        Assert.IsType<RpcResult<Billed>.Success>(await rpc.CallAsync(1));

        using var stop = new CancellationTokenSource();
        var during = Task.Run(async () =>
        {
            for (var n = 1000; !stop.IsCancellationRequested; n++)
            {
                try
                {
                    await emitter.EmitAsync(Pattern, new Booking($"b-{n}", n)).WaitAsync(TimeSpan.FromSeconds(40));
                    if (emitsDuringFaultCount)
                    {
                        _confirmed.TryAdd(n, 0);
                    }
                }
#pragma warning disable CA1031 // the emitter's failures are the integration matrix's subject; here only what was confirmed counts
                catch (Exception)
#pragma warning restore CA1031
                {
                }

                await Task.Delay(100);
            }
        });

        await faultOn();
        try
        {
            if (duringFault is not null)
            {
                var result = await rpc.CallAsync(2).WaitAsync(CallTimeout + Tolerance, Ct);
                Output?.WriteLine($"RPC call during the fault: {result}");
                duringFault(result);
            }
        }
        finally
        {
            await faultOff();
        }

        // Calls succeed again by themselves.
        await AwaitConditionAsync(
            async () => (await rpc.CallAsync(3)) is RpcResult<Billed>.Success,
            Recovery + Tolerance,
            message: "RPC calls that emit did not succeed again within 15 s (+10 s) after the fault",
            cancellationToken: Ct);
        await stop.CancelAsync();
        await during.WaitAsync(TimeSpan.FromSeconds(60), Ct);
        await EmitAsync(emitter, 2000, 10);

        // Handlers that failed meanwhile are retried after their delay (1 s, 5 s, 15 s here): bound for the last one.
        await AwaitConditionAsync(
            () => Task.FromResult(_confirmed.Keys.All(_handled.ContainsKey)),
            TimeSpan.FromSeconds(90),
            message: "confirmed events were never handled by the hosted listener",
            cancellationToken: Ct);
        await AwaitConditionAsync(() => Task.FromResult(Listener(Group).State == ListenerState.Running), TimeSpan.FromSeconds(30), cancellationToken: Ct);
        var dead = await emitter.PeekDeadLettersAsync(Pattern, Group, Ct);
        Assert.True(dead.Count == 0, $"{dead.Count} events were dead-lettered because of the outage, e.g. {dead.FirstOrDefault()?.Reason}");
        Output?.WriteLine($"{_confirmed.Count} confirmed, {_handled.Count} handled, {_handled.Values.Count(v => v > 1)} more than once, {Listener(Group).Restarts} listener restarts");
    }

    /// <summary>
    /// For a fault that lasts (the broker refuses the host at connect): a call to the procedure that emits ends in a
    /// <c>Failure</c> well before its deadline, the hosted listener keeps restarting and the listeners' and broker's
    /// health checks say why, with <paramref name="cause"/> in their description.
    /// </summary>
    protected async Task AssertRefusedAsync(string cause)
    {
        await using var rpc = await StartRpcServerAsync();
        var call = System.Diagnostics.Stopwatch.StartNew();
        var result = await rpc.CallAsync(1).WaitAsync(CallTimeout + Tolerance, Ct);
        Output?.WriteLine($"RPC call: {result} after {call.Elapsed}");
        Assert.IsType<RpcResult<Billed>.Failure>(result);

        // A listener refused at every attempt never consumes, so it is never "running" (HostedListenerStateTests).
        await AwaitConditionAsync(
            () => Task.FromResult(Listener(Group).Restarts >= 2 && Listener(Group).State != ListenerState.Running),
            TimeSpan.FromSeconds(30),
            cancellationToken: Ct);
        Assert.Contains(cause, Listener(Group).LastFailure?.Message, StringComparison.OrdinalIgnoreCase);

        var health = await HealthAsync();
        await AwaitConditionAsync(
            async () =>
            {
                health = await HealthAsync();
                return health.Entries[TwylaServiceCollectionExtensions.ListenersHealthCheckName].Status != Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy;
            },
            TimeSpan.FromSeconds(30),
            cancellationToken: Ct);
        foreach (var (name, entry) in health.Entries)
        {
            Output?.WriteLine($"{name}: {entry.Status} {entry.Description}");
        }

        var listeners = health.Entries[TwylaServiceCollectionExtensions.ListenersHealthCheckName];
        Assert.NotEqual(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy, listeners.Status);
        Assert.Contains(cause, listeners.Description, StringComparison.OrdinalIgnoreCase);
        var brokerHealth = health.Entries[TwylaServiceCollectionExtensions.BrokerHealthCheckName];
        Assert.Equal(Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Unhealthy, brokerHealth.Status);
        Assert.Contains(cause, brokerHealth.Description, StringComparison.OrdinalIgnoreCase);
    }

    private async Task EmitAsync(EventBus emitter, int from, int count)
    {
        for (var n = from; n < from + count; n++)
        {
            await emitter.EmitAsync(Pattern, new Booking($"b-{n}", n));
            _confirmed.TryAdd(n, 0);
        }
    }

    /// <summary>A Kestrel server of its own whose <c>MapRpcFlow</c> procedure <c>billing.bill</c> emits on the host's bus.</summary>
    private Task<BillingServer> StartRpcServerAsync()
    {
        var builder = BillingServer.NewBuilder();
        builder.Services.AddAkka("rpc-matrix", _ => { });
        return BillingServer.StartAsync(builder, _ => Bus, CallTimeout);
    }
}
