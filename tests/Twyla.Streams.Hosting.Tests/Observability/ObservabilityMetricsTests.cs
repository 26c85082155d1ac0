using Akka.Streams.Dsl;
using Microsoft.Extensions.DependencyInjection;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Emit;
using Twyla.Streams.Hosting.Diagnostics;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Twyla.Streams.Rpc;
using Twyla.Streams.Testing;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Observability;

/// <summary>
/// After a known scenario, the metrics an operator reads say exactly what happened: how many events were sent,
/// consumed, retried and dead-lettered (and why), how many handlers ran and failed, and how RPC calls ended on both
/// sides. Exported through OpenTelemetry's in-memory exporter, turned on with <c>AddTwylaInstrumentation</c>.
/// </summary>
public sealed class ObservabilityMetricsTests
{
    private const string Name = "obs.metered";
    private const string Group = "metered";

    private static readonly string Exchange = "twyla.obs-metrics." + Guid.NewGuid().ToString("N")[..12];

    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task Event_metrics_should_count_exactly_what_was_emitted_consumed_retried_and_dead_lettered()
    {
        // Events 1-2 always fail: delivered twice, then dead-lettered (M = 2). Events 3-5 fail once: retried, then acked
        // (K = 3 retries, with the 2 first failures of 1-2: 5 rejects). Events 6-10 succeed at once. One more is not a Booking.
        await using var host = await ObservedHost.StartAsync(
            "obs-metrics",
            Exchange,
            akka => akka.WithTwylaListener<Booking>(
                Name,
                Group,
                e => e.Payload.N <= 2 || (e.Payload.N <= 5 && e.DeliveryCount == 1)
                    ? throw new InvalidOperationException($"booking {e.Payload.N} failed on delivery {e.DeliveryCount}")
                    : Task.CompletedTask,
                new TwylaListenerOptions { MaxDeliveries = 2, RetryDelays = [TimeSpan.FromMilliseconds(100)] }),
            _ => { });
        await host.Bus.DeclareGroupAsync(Name, Group, Events.ListenSettings.Default, Ct);

        await Task.WhenAll(Enumerable.Range(1, 10).Select(n => host.Bus.EmitAsync(Name, new Booking($"b-{n}", n), Ct)));
        await host.Bus.EmitAsync(Name, "not a booking", Ct);

        var ours = (TelemetryTags.Destination, (object)Exchange);
        await WaitUntilAsync(() =>
            host.Sum(TwylaTelemetry.SettledMessages, ours, (TelemetryTags.Settlement, "ack")) == 8 &&
            host.Sum(TwylaTelemetry.SettledMessages, ours, (TelemetryTags.Settlement, "dead_letter")) == 3);

        Assert.Equal(11, host.Sum(TwylaTelemetry.SentMessages, ours, (TelemetryTags.RoutingKey, Name), (TelemetryTags.Outcome, "confirmed")));
        Assert.Equal(11, host.Sum(TwylaTelemetry.SentMessages, ours));
        Assert.Equal(11, host.Count(TwylaTelemetry.OperationDuration, ours, (TelemetryTags.OperationName, "publish")));
        Assert.Equal(16, host.Sum(TwylaTelemetry.ConsumedMessages, ours, (TelemetryTags.ConsumerGroup, Group)));
        Assert.Equal(8, host.Sum(TwylaTelemetry.SettledMessages, ours, (TelemetryTags.Settlement, "ack")));
        Assert.Equal(5, host.Sum(TwylaTelemetry.SettledMessages, ours, (TelemetryTags.Settlement, "retry")));
        Assert.Equal(2, host.Sum(TwylaTelemetry.SettledMessages, ours, (TelemetryTags.Settlement, "dead_letter"), (TelemetryTags.DeadLetterReason, "handler_failed")));
        Assert.Equal(1, host.Sum(TwylaTelemetry.SettledMessages, ours, (TelemetryTags.Settlement, "dead_letter"), (TelemetryTags.DeadLetterReason, "invalid_payload")));
        Assert.Equal(15, host.Count(TwylaTelemetry.ProcessDuration, ours));
        Assert.Equal(7, host.Count(TwylaTelemetry.ProcessDuration, ours, (TelemetryTags.ErrorType, typeof(InvalidOperationException).FullName!)));
        Assert.Equal(15, host.Count(TwylaTelemetry.EventAge, ours));
        Assert.Equal(0, host.Sum(TwylaTelemetry.InFlight, ours, (TelemetryTags.ConsumerGroup, Group)));

        // The hosted listener entered Starting and Running once each and never restarted.
        var listener = ("twyla.listener.pattern", (object)Name);
        Assert.Equal(1, host.Sum(TwylaHostingTelemetry.ListenerStateChanges, listener, ("messaging.consumer.group.name", Group), ("twyla.listener.state", "starting")));
        Assert.Equal(1, host.Sum(TwylaHostingTelemetry.ListenerStateChanges, listener, ("messaging.consumer.group.name", Group), ("twyla.listener.state", "running")));
        Assert.Equal(0, host.Sum(TwylaHostingTelemetry.ListenerRestarts, listener));
    }

    [Fact]
    public async Task Sent_metrics_should_tell_refused_and_unroutable_emits_from_confirmed_ones()
    {
        var exchange = "twyla.obs-sent." + Guid.NewGuid().ToString("N")[..12];
        const string Refused = "obs.refused", Unbound = "obs.unbound";
        await using var host = await ObservedHost.StartAsync("obs-sent", exchange, _ => { }, _ => { });
        await host.Bus.DeclareGroupAsync(Refused, "sent", Events.ListenSettings.Default, Ct);

        // A queue that takes no message (length limit 0, reject-publish) bound to the event: the broker nacks every publish.
        await using var raw = await new RabbitMQ.Client.ConnectionFactory { Uri = new Uri(Broker.Uri) }.CreateConnectionAsync(Ct);
        await using var channel = await raw.CreateChannelAsync(cancellationToken: Ct);
        var full = "obs-full-" + Guid.NewGuid().ToString("N")[..10];
        await channel.QueueDeclareAsync(
            full, durable: false, exclusive: false, autoDelete: true,
            arguments: new Dictionary<string, object?> { ["x-max-length"] = 0, ["x-overflow"] = "reject-publish" }, cancellationToken: Ct);
        await channel.QueueBindAsync(full, exchange, Refused, cancellationToken: Ct);

        await Assert.ThrowsAsync<EmitException>(() => host.Bus.EmitAsync(Refused, new Booking("b-1", 1), Ct));
        var materializer = Akka.Streams.ActorMaterializer.Create(host.App.Services.GetRequiredService<Akka.Actor.ActorSystem>());
        await Assert.ThrowsAsync<EmitException>(() => Source.Single(new Booking("b-2", 2))
            .RunWith(host.Bus.Emit<Booking>(Refused), materializer));
        await Assert.ThrowsAsync<EmitException>(() => Source.Single(new Booking("b-3", 3))
            .RunWith(host.Bus.Emit<Booking>(Unbound, EmitSettings.Default.WithMandatory(true)), materializer));
        await channel.QueueUnbindAsync(full, exchange, Refused, cancellationToken: Ct);
        await host.Bus.EmitAsync(Refused, new Booking("b-4", 4), Ct);

        var ours = (TelemetryTags.Destination, (object)exchange);
        var refused = (TelemetryTags.RoutingKey, (object)Refused);
        Assert.Equal(2, host.Sum(TwylaTelemetry.SentMessages, ours, refused, (TelemetryTags.Outcome, "refused"), (TelemetryTags.ErrorType, "refused")));
        Assert.Equal(1, host.Sum(TwylaTelemetry.SentMessages, ours, refused, (TelemetryTags.Outcome, "confirmed"), (TelemetryTags.ErrorType, ObservedHost.Absent.Value)));
        Assert.Equal(1, host.Sum(TwylaTelemetry.SentMessages, ours, (TelemetryTags.RoutingKey, Unbound), (TelemetryTags.Outcome, "unroutable")));
        Assert.Equal(4, host.Sum(TwylaTelemetry.SentMessages, ours));
        Assert.Equal(4, host.Count(TwylaTelemetry.OperationDuration, ours));
    }

    [Fact]
    public async Task A_listener_that_crashes_once_should_count_one_restart_and_its_state_changes()
    {
        var name = "obs" + Guid.NewGuid().ToString("N")[..8] + ".crashing";
        var crashed = 0;
        var handled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var host = await ObservedHost.StartAsync(
            "obs-restarts",
            Exchange,
            akka => akka.WithTwylaFlowListener<Booking>(
                name,
                "crashing",
                Flow.Create<Events.Event<Booking>>().Select(e =>
                {
                    if (Interlocked.Exchange(ref crashed, 1) == 0)
                    {
                        throw new InvalidOperationException("the flow crashed once");
                    }

                    handled.TrySetResult();
                    return e;
                }),
                new TwylaListenerOptions { MinBackoff = TimeSpan.FromMilliseconds(200), MaxBackoff = TimeSpan.FromSeconds(2) }),
            _ => { });
        await host.Bus.DeclareGroupAsync(name, "crashing", Events.ListenSettings.Default, Ct);

        await host.Bus.EmitAsync(name, new Booking("b-1", 1), Ct);
        await handled.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct); // handled by the restarted graph, so the restart is counted
        var listener = ("twyla.listener.pattern", (object)name);
        await WaitUntilAsync(() => host.Sum(TwylaHostingTelemetry.ListenerStateChanges, listener, ("twyla.listener.state", "running")) == 2);

        Assert.Equal(1, host.Sum(TwylaHostingTelemetry.ListenerRestarts, listener, ("messaging.consumer.group.name", "crashing")));
        Assert.Equal(1, host.Sum(TwylaHostingTelemetry.ListenerStateChanges, listener, ("twyla.listener.state", "restarting")));
        Assert.Equal(1, host.Sum(TwylaHostingTelemetry.ListenerStateChanges, listener, ("twyla.listener.state", "starting")));
        Assert.Equal(4, host.Sum(TwylaHostingTelemetry.ListenerStateChanges, listener)); // starting, running, restarting, running
    }

    [Fact]
    public async Task Rpc_metrics_should_tell_a_success_a_failure_a_timeout_and_a_retry_apart_on_both_sides()
    {
        var service = "obs-" + Guid.NewGuid().ToString("N")[..8];
        var flakyCalls = 0;
        await using var server = await ObservedHost.StartAsync(
            "obs-rpc-server",
            Exchange,
            _ => { },
            app =>
            {
                app.MapRpc<string, string>("obs_ok", (text, _) => Task.FromResult(text));
                app.MapRpc<string, string>("obs_refuse", (_, _) => throw new RpcException("obs_refused", "refused on purpose", 422));
                app.MapRpc<string, string>("obs_hang", async (_, ct) =>
                {
                    await Task.Delay(Timeout.Infinite, ct);
                    return "never";
                });
                app.MapRpc<string, string>("obs_flaky", (text, _) => Interlocked.Increment(ref flakyCalls) == 1
                    ? throw new RpcException("obs_busy", "try again", 503)
                    : Task.FromResult(text));
            });
        using var client = new RpcClient(RpcClientSettings.Create().WithService(service, server.Address).WithoutCircuitBreaker());

        Assert.IsType<RpcResult<string>.Success>(await client.CallAsync<string, string>($"{service}.obs_ok", "hi", Ct));
        var refused = Assert.IsType<RpcResult<string>.Failure>(await client.CallAsync<string, string>($"{service}.obs_refuse", "hi", Ct));
        Assert.Equal("obs_refused", refused.Code);
        Assert.IsType<RpcResult<string>.Timeout>(await client.CallAsync<string, string>(
            $"{service}.obs_hang", "hi", RpcCallSettings.Create().WithTimeout(TimeSpan.FromMilliseconds(300)), Ct));
        Assert.IsType<RpcResult<string>.Success>(await client.CallAsync<string, string>(
            $"{service}.obs_flaky",
            "hi",
            RpcCallSettings.Create().WithTimeout(TimeSpan.FromSeconds(10)).WithIdempotent(true).WithRetries(3, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(50)),
            Ct));

        // The client's measurements are read through the server host's exporter: meters are process-wide.
        var ours = (TelemetryTags.RpcService, (object)service);
        Assert.Equal(1, server.Count(TwylaTelemetry.RpcClientDuration, ours, (TelemetryTags.RpcMethod, "obs_ok"), (TelemetryTags.Outcome, "success")));
        Assert.Equal(1, server.Count(TwylaTelemetry.RpcClientDuration, ours, (TelemetryTags.RpcMethod, "obs_refuse"), (TelemetryTags.Outcome, "failure"), (TelemetryTags.ErrorType, "obs_refused")));
        Assert.Equal(1, server.Count(TwylaTelemetry.RpcClientDuration, ours, (TelemetryTags.RpcMethod, "obs_hang"), (TelemetryTags.Outcome, "timeout"), (TelemetryTags.ErrorType, "timeout")));
        Assert.Equal(1, server.Count(TwylaTelemetry.RpcClientDuration, ours, (TelemetryTags.RpcMethod, "obs_flaky"), (TelemetryTags.Outcome, "success")));
        Assert.Equal(4, server.Count(TwylaTelemetry.RpcClientDuration, ours));
        Assert.Equal(1, server.Sum(TwylaTelemetry.RpcClientRetries, ours, (TelemetryTags.RpcMethod, "obs_flaky")));
        Assert.Equal(1, server.Sum(TwylaTelemetry.RpcClientRetries, ours));

        // A caller that keeps waiting past the deadline it sent: the server's own deadline passes for certain (the
        // client's call above times out on its side and disconnects, which the server may or may not see first).
        using (var raw = new HttpClient { BaseAddress = server.Address })
        using (var request = new HttpRequestMessage(HttpMethod.Post, RpcHeaders.PathPrefix + "obs_hang") { Content = new StringContent("\"hi\"", System.Text.Encoding.UTF8, "application/json") })
        {
            request.Headers.Add(RpcHeaders.DeadlineMs, "300");
            using var response = await raw.SendAsync(request, Ct);
            Assert.Equal(System.Net.HttpStatusCode.GatewayTimeout, response.StatusCode);
        }

        // The server measures each call once its response is written (the caller may have read it just before), the
        // hung ones once the caller's deadline passed there: 6 calls served, the flaky one twice.
        await WaitUntilAsync(() => new[] { "obs_ok", "obs_refuse", "obs_hang", "obs_flaky" }
            .Sum(method => server.Count(TwylaHostingTelemetry.RpcServerDuration, ("rpc.method", method))) == 6);
        Assert.Equal(1, server.Count(TwylaHostingTelemetry.RpcServerDuration, ("rpc.method", "obs_ok"), ("twyla.outcome", "success")));
        Assert.Equal(1, server.Count(TwylaHostingTelemetry.RpcServerDuration, ("rpc.method", "obs_refuse"), ("twyla.outcome", "failure"), ("error.type", "obs_refused")));
        Assert.InRange(server.Count(TwylaHostingTelemetry.RpcServerDuration, ("rpc.method", "obs_hang"), ("twyla.outcome", "timeout"), ("error.type", "deadline_exceeded")), 1, 2);
        Assert.Equal(1, server.Count(TwylaHostingTelemetry.RpcServerDuration, ("rpc.method", "obs_flaky"), ("twyla.outcome", "failure"), ("error.type", "obs_busy")));
        Assert.Equal(1, server.Count(TwylaHostingTelemetry.RpcServerDuration, ("rpc.method", "obs_flaky"), ("twyla.outcome", "success")));
    }

    [Fact]
    public async Task A_call_its_caller_cancels_should_be_cancelled_in_its_metric_and_on_its_span_alike()
    {
        var service = "obs-" + Guid.NewGuid().ToString("N")[..8];
        var procedure = "obs_wait_" + Guid.NewGuid().ToString("N")[..8];
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var server = await ObservedHost.StartAsync(
            "obs-rpc-cancelled",
            Exchange,
            _ => { },
            app => app.MapRpc<string, string>(procedure, async (_, ct) =>
            {
                started.TrySetResult();
                await Task.Delay(Timeout.Infinite, ct);
                return "never";
            }));
        using var client = new RpcClient(RpcClientSettings.Create().WithService(service, server.Address).WithoutCircuitBreaker());

        using var caller = new CancellationTokenSource();
        var call = client.CallAsync<string, string>($"{service}.{procedure}", "hi", RpcCallSettings.Create().WithTimeout(TimeSpan.FromMinutes(1)), caller.Token);
        await started.Task.WaitAsync(TimeSpan.FromSeconds(30), Ct); // the server runs the call: only the caller can end it now
        await caller.CancelAsync();

        var failure = Assert.IsType<RpcResult<string>.Failure>(await call);
        Assert.Equal(RpcFailureCodes.Cancelled, failure.Code);
        var ours = (TelemetryTags.RpcService, (object)service);
        Assert.Equal(1, server.Count(TwylaTelemetry.RpcClientDuration, ours, (TelemetryTags.Outcome, "failure"), (TelemetryTags.ErrorType, RpcFailureCodes.Cancelled)));
        Assert.Equal(1, server.Count(TwylaTelemetry.RpcClientDuration, ours));
        var span = Assert.Single(server.Spans, s => s.DisplayName == $"{service}/{procedure}"); // ended before the call returned
        Assert.Equal(RpcFailureCodes.Cancelled, span.GetTagItem(TelemetryTags.ErrorType));
        Assert.Equal(System.Diagnostics.ActivityStatusCode.Error, span.Status);

        // The server saw the caller go away: cancelled there too, not a passed deadline (the deadline was a minute).
        var method = ("rpc.method", (object)procedure);
        await WaitUntilAsync(() => server.Count(TwylaHostingTelemetry.RpcServerDuration, method) == 1);
        Assert.Equal(1, server.Count(TwylaHostingTelemetry.RpcServerDuration, method, ("twyla.outcome", "failure"), ("error.type", RpcFailureCodes.Cancelled)));
        var served = Assert.Single(server.Spans, s => s.Kind == System.Diagnostics.ActivityKind.Server && Equals(s.GetTagItem("rpc.method"), procedure));
        Assert.Equal(RpcFailureCodes.Cancelled, served.GetTagItem(TelemetryTags.ErrorType));
    }

    [Fact]
    public async Task A_circuit_that_opens_should_be_counted_once_and_the_calls_it_refuses_under_their_code()
    {
        var service = "obs-" + Guid.NewGuid().ToString("N")[..8];
        await using var server = await ObservedHost.StartAsync(
            "obs-rpc-breaker",
            Exchange,
            _ => { },
            app => app.MapRpc<string, string>("obs_down", (_, _) => throw new RpcException("obs_down", "down for maintenance", 503)));
        using var client = new RpcClient(RpcClientSettings.Create()
            .WithService(service, server.Address)
            .WithCircuitBreaker(0.5, 2, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(30)));

        for (var i = 0; i < 3; i++)
        {
            Assert.IsType<RpcResult<string>.Failure>(await client.CallAsync<string, string>($"{service}.obs_down", "hi", Ct));
        }

        var ours = (TelemetryTags.RpcService, (object)service);
        Assert.Equal(1, server.Sum(TwylaTelemetry.RpcCircuitStateChanges, ours, (TelemetryTags.CircuitState, "open")));
        Assert.Equal(1, server.Sum(TwylaTelemetry.RpcCircuitStateChanges, ours));
        Assert.Equal(2, server.Count(TwylaTelemetry.RpcClientDuration, ours, (TelemetryTags.ErrorType, "obs_down")));
        Assert.Equal(1, server.Count(TwylaTelemetry.RpcClientDuration, ours, (TelemetryTags.ErrorType, RpcFailureCodes.CircuitOpen)));
        await WaitUntilAsync(() => server.Count(TwylaHostingTelemetry.RpcServerDuration, ("rpc.method", "obs_down")) >= 2); // measured after the response
        Assert.Equal(2, server.Count(TwylaHostingTelemetry.RpcServerDuration, ("rpc.method", "obs_down"), ("twyla.outcome", "failure")));
    }

    /// <summary>Polls (no sleeps as assertions) until <paramref name="condition"/> holds; fails after 30 s.</summary>
    internal static Task WaitUntilAsync(Func<bool> condition) => Poll.Until(condition, TimeSpan.FromSeconds(30));
}
