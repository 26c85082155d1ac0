using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Observability;

/// <summary>
/// One request is one trace across two services on one broker: HTTP request (front) → emit → handler (back) →
/// derived emit → handler (front) → RPC call → served procedure (back) → its emit, each span the child of the one before.
/// </summary>
public sealed class CrossServiceTraceTests
{
    private static CancellationToken Ct => CancellationToken.None;

    [Fact]
    public async Task A_request_should_be_one_trace_through_events_handlers_and_procedures_of_two_services()
    {
        var exchange = "twyla.obs-trace." + Guid.NewGuid().ToString("N")[..12];
        var prefix = "obs" + Guid.NewGuid().ToString("N")[..8];
        string requested = prefix + ".requested", accepted = prefix + ".accepted", reserved = prefix + ".reserved";
        var backService = prefix + "-back";

        await using var back = await ObservedHost.StartAsync(
            backService,
            exchange,
            akka => akka.WithTwylaScopedListener<Booking>(requested, "back", (services, e) =>
                services.GetRequiredService<EventBus>().EmitAsync(e.Derive(accepted, e.Payload))),
            app => app.MapRpc<Booking, string>("reserve", async (booking, ct) =>
            {
                await app.Services.GetRequiredService<EventBus>().EmitAsync(reserved, booking, ct);
                return "seat 12A";
            }));
        await using var front = await ObservedHost.StartAsync(
            prefix + "-front",
            exchange,
            akka => akka.WithTwylaScopedListener<Booking>(accepted, "front", async (services, e) =>
            {
                var seat = await services.GetRequiredService<RpcClient>().CallAsync<Booking, string>($"{backService}.reserve", e.Payload, CancellationToken.None);
                Assert.IsType<RpcResult<string>.Success>(seat);
            }),
            app => app.MapPost("/book", async (HttpContext http) =>
            {
                await app.Services.GetRequiredService<EventBus>().EmitAsync(requested, new Booking("b-1", 1), http.RequestAborted);
                return Results.Accepted();
            }),
            new Dictionary<string, Uri> { [backService] = back.Address });
        await front.Bus.DeclareGroupAsync(requested, "back", Events.ListenSettings.Default, Ct);
        await front.Bus.DeclareGroupAsync(accepted, "front", Events.ListenSettings.Default, Ct);

        using var http = new HttpClient();
        using (var response = await http.PostAsync(new Uri(front.Address, "/book"), null, Ct))
        {
            response.EnsureSuccessStatusCode();
        }

        // Spans are exported when they end, and they end in no set order (a handler's span after its emit's, a server's
        // after its response): wait for all nine of the trace, the two HTTP request spans included.
        string[] names = [requested + " publish", requested + " process", accepted + " publish", accepted + " process", backService + "/reserve", "reserve", reserved + " publish"];
        List<Activity> Trace() =>
            front.Spans.FirstOrDefault(s => s.DisplayName == reserved + " publish") is { } last ? front.Spans.Where(s => s.TraceId == last.TraceId).ToList() : [];
        await ObservabilityMetricsTests.WaitUntilAsync(() => Trace() is var spans
            && names.All(n => spans.Any(s => s.DisplayName == n)) && spans.Count(s => s.Source.Name == "Microsoft.AspNetCore") == 2);
        var trace = Trace();

        var request = Assert.Single(trace, s => s.ParentSpanId == default); // the trace starts at the HTTP request to the front
        Assert.Equal("Microsoft.AspNetCore", request.Source.Name);
        var publishRequested = Child(trace, request, requested + " publish", ActivityKind.Producer);
        var processRequested = Child(trace, publishRequested, requested + " process", ActivityKind.Consumer);
        var publishAccepted = Child(trace, processRequested, accepted + " publish", ActivityKind.Producer);
        var processAccepted = Child(trace, publishAccepted, accepted + " process", ActivityKind.Consumer);
        var call = Child(trace, processAccepted, backService + "/reserve", ActivityKind.Client);
        var served = Assert.Single(trace, s => s.DisplayName == "reserve" && s.Kind == ActivityKind.Server);
        var serverRequest = Assert.Single(trace, s => s.SpanId == served.ParentSpanId); // the back's HTTP request span
        Assert.Equal(call.SpanId, serverRequest.ParentSpanId);
        Child(trace, served, reserved + " publish", ActivityKind.Producer);

        // Messaging and RPC attributes of the conventions.
        Assert.Equal("rabbitmq", publishRequested.GetTagItem("messaging.system"));
        Assert.Equal(exchange, publishRequested.GetTagItem("messaging.destination.name"));
        Assert.Equal(requested, publishRequested.GetTagItem("messaging.rabbitmq.destination.routing_key"));
        Assert.Equal("back", processRequested.GetTagItem("messaging.consumer.group.name"));
        Assert.Equal(publishRequested.GetTagItem("messaging.message.id"), processRequested.GetTagItem("messaging.message.id"));
        var bodySize = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Booking("b-1", 1), EventBusSettings.DefaultJsonOptions).Length;
        Assert.Equal(bodySize, publishRequested.GetTagItem("messaging.message.body.size"));
        Assert.Equal(bodySize, processRequested.GetTagItem("messaging.message.body.size")); // carried from the delivery
        Assert.Equal(processRequested.GetTagItem("messaging.message.id"), publishAccepted.GetTagItem("twyla.causation_id"));
        Assert.Equal(("send", "publish"), (publishRequested.GetTagItem("messaging.operation.type"), publishRequested.GetTagItem("messaging.operation.name")));
        Assert.Equal(("process", "process"), (processRequested.GetTagItem("messaging.operation.type"), processRequested.GetTagItem("messaging.operation.name")));
        // The conversation is the correlation id: one for the whole chain, the derived event's too.
        Assert.NotNull(publishRequested.GetTagItem("messaging.message.conversation_id"));
        Assert.Equal(publishRequested.GetTagItem("messaging.message.conversation_id"), processRequested.GetTagItem("messaging.message.conversation_id"));
        Assert.Equal(publishRequested.GetTagItem("messaging.message.conversation_id"), publishAccepted.GetTagItem("messaging.message.conversation_id"));
        Assert.Equal("ack", processRequested.GetTagItem("twyla.settlement"));
        Assert.Equal("twyla", call.GetTagItem("rpc.system"));
        Assert.Equal(backService, call.GetTagItem("rpc.service"));
        Assert.Equal("reserve", call.GetTagItem("rpc.method"));
        Assert.Equal(call.GetTagItem("twyla.correlation_id"), served.GetTagItem("twyla.correlation_id"));
        Assert.Equal("success", served.GetTagItem("twyla.outcome"));
    }

    private static Activity Child(IReadOnlyList<Activity> trace, Activity parent, string name, ActivityKind kind)
    {
        var child = Assert.Single(trace, s => s.DisplayName == name);
        Assert.Equal(kind, child.Kind);
        Assert.Equal(parent.SpanId, child.ParentSpanId);
        return child;
    }
}
