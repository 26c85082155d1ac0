using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Akka.Streams.Dsl;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Rpc;

[Collection(RpcCollection.Name)]
public sealed class RpcRoundTripTests(RpcServerFixture server)
{
    [Fact]
    public async Task CallAsync_should_return_the_typed_response_with_the_correlation_id_visible_to_the_handler()
    {
        using var client = server.Client(s => s);
        var settings = RpcCallSettings.Create().WithCorrelationId("corr-42");

        var result = await client.CallAsync<GetBooking, Booking>("test.get_booking", new GetBooking("A1324B"), settings, CancellationToken.None);

        var success = Assert.IsType<RpcResult<Booking>.Success>(result);
        Assert.Equal(new Booking("A1324B", "Ada Lovelace", "corr-42"), success.Value);
    }

    [Fact]
    public async Task CallAsync_should_generate_a_correlation_id_when_none_is_given()
    {
        using var client = server.Client(s => s);

        var first = await client.CallAsync<GetBooking, Booking>("test.get_booking", new GetBooking("A"), CancellationToken.None);
        var second = await client.CallAsync<GetBooking, Booking>("test.get_booking", new GetBooking("B"), CancellationToken.None);

        var a = Assert.IsType<RpcResult<Booking>.Success>(first).Value.CorrelationId;
        var b = Assert.IsType<RpcResult<Booking>.Success>(second).Value.CorrelationId;
        Assert.True(Guid.TryParse(a, out _), a);
        Assert.NotEqual(a, b);
    }

    [Fact]
    public async Task Flow_should_round_trip_untyped_json_with_the_correlation_id_visible_to_the_handler()
    {
        using var client = server.Client(s => s);
        var settings = RpcCallSettings.Create().WithCorrelationId("untyped-7");
        var request = JsonDocument.Parse("""{"pnr":"ZZ9PLZ"}""").RootElement;

        var results = await Source.From([request, request])
            .Via(client.Flow<JsonElement, JsonElement>("test.get_booking", settings))
            .RunWith(Sink.Seq<RpcResult<JsonElement>>(), server.Materializer);

        Assert.Equal(2, results.Count);
        foreach (var result in results)
        {
            var json = Assert.IsType<RpcResult<JsonElement>.Success>(result).Value;
            Assert.Equal("ZZ9PLZ", json.GetProperty("pnr").GetString());
            Assert.Equal("untyped-7", json.GetProperty("correlationId").GetString());
        }
    }

    [Fact]
    public async Task FlowWithContext_should_pass_the_context_through_and_take_the_correlation_id_from_it()
    {
        using var client = server.Client(s => s);
        var flow = client.FlowWithContext<GetBooking, Booking, string>("test.get_booking", ctx => ctx, RpcCallSettings.Create());
        var input = Enumerable.Range(0, 20).Select(i => (new GetBooking($"P{i}"), $"event-{i}")).ToList();

        var results = await Source.From(input)
            .Via(flow.AsFlow())
            .RunWith(Sink.Seq<(RpcResult<Booking>, string)>(), server.Materializer);

        Assert.Equal(input.Select(i => i.Item2), results.Select(r => r.Item2));
        Assert.All(results, r => Assert.Equal(r.Item2, Assert.IsType<RpcResult<Booking>.Success>(r.Item1).Value.CorrelationId));
    }

    [Fact]
    public async Task Match_should_take_every_case_apart()
    {
        using var client = server.Client(s => s);

        var result = await client.CallAsync<GetBooking, Booking>("test.get_booking", new GetBooking("M1"), CancellationToken.None);

        Assert.Equal("M1", result.Match(b => b.Pnr, f => f.Code, after => "timeout"));
        Assert.Equal("boom", new RpcResult<int>.Failure("boom", "m", 0).Match(_ => "ok", f => f.Code, _ => "timeout"));
        Assert.Equal("timeout", new RpcResult<int>.Timeout(TimeSpan.FromSeconds(1)).Match(_ => "ok", f => f.Code, _ => "timeout"));
    }

    [Fact]
    public async Task CallAsync_should_return_a_500_failure_with_the_code_and_no_stack_trace_when_the_handler_throws()
    {
        using var client = server.Client(s => s.WithoutCircuitBreaker());

        var result = await client.CallAsync<GetBooking, Booking>("test.fail", new GetBooking("A1"), CancellationToken.None);

        var failure = Assert.IsType<RpcResult<Booking>.Failure>(result);
        Assert.Equal(500, failure.Status);
        Assert.Equal(RpcFailureCodes.InternalError, failure.Code);

        using var http = new HttpClient();
        using var response = await http.PostAsync(
            new Uri(server.BaseAddress, "/rpc/fail"), new StringContent("""{"pnr":"A1"}""", System.Text.Encoding.UTF8, "application/json"));
        var body = await response.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("internal_error", JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
        Assert.DoesNotContain("hunter2", body, StringComparison.Ordinal);
        Assert.DoesNotContain("InvalidOperationException", body, StringComparison.Ordinal);
        Assert.DoesNotContain(" at ", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallAsync_should_return_a_404_failure_for_an_unknown_procedure()
    {
        using var client = server.Client(s => s);

        var result = await client.CallAsync<GetBooking, Booking>("test.no_such_procedure", new GetBooking("A1"), CancellationToken.None);

        var failure = Assert.IsType<RpcResult<Booking>.Failure>(result);
        Assert.Equal(404, failure.Status);
        Assert.Equal(RpcFailureCodes.UnknownProcedure, failure.Code);
        Assert.Contains("no_such_procedure", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallAsync_should_return_unknown_service_when_the_service_cannot_be_resolved()
    {
        using var client = server.Client(s => s.WithoutUrlTemplate());

        var result = await client.CallAsync<GetBooking, Booking>("nowhere.get_booking", new GetBooking("A1"), CancellationToken.None);

        var failure = Assert.IsType<RpcResult<Booking>.Failure>(result);
        Assert.Equal(RpcFailureCodes.UnknownService, failure.Code);
        Assert.Equal(0, failure.Status);
        Assert.Contains("Twyla:Rpc:Services:nowhere", failure.Message, StringComparison.Ordinal);
    }

    public sealed record BookingWithSeat(string Pnr, string Seat);

    [Fact]
    public async Task CallAsync_should_return_a_deserialization_error_when_the_response_breaks_the_contract()
    {
        using var client = server.Client(s => s);

        var result = await client.CallAsync<GetBooking, BookingWithSeat>("test.get_booking", new GetBooking("D1"), CancellationToken.None);

        var failure = Assert.IsType<RpcResult<BookingWithSeat>.Failure>(result);
        Assert.Equal((RpcFailureCodes.DeserializationError, 200), (failure.Code, failure.Status));
        Assert.Contains("seat", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CallAsync_should_return_connection_refused_when_nothing_listens()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        using var client = new RpcClient(RpcClientSettings.Create().WithService("gone", new Uri($"http://127.0.0.1:{port}")));

        var result = await client.CallAsync<GetBooking, Booking>("gone.get_booking", new GetBooking("A1"), CancellationToken.None);

        var failure = Assert.IsType<RpcResult<Booking>.Failure>(result);
        Assert.Equal(RpcFailureCodes.ConnectionRefused, failure.Code);
        Assert.Equal(0, failure.Status);
    }

    [Fact]
    public async Task CallAsync_should_time_out_at_the_deadline_and_cancel_the_handler_token()
    {
        using var client = server.Client(s => s);
        // Long enough for the server handler to start within it on a loaded machine (its token can only be cancelled
        // once it runs); the tolerance is for timers that fire late there. Without a deadline the call would not end.
        var timeout = TimeSpan.FromSeconds(3);
        var tolerance = TimeSpan.FromSeconds(5);
        var key = Guid.NewGuid().ToString("N");
        var (handlerStarted, handlerCancelled) = server.WatchSlow(key);
        var started = Stopwatch.GetTimestamp();

        var call = client.CallAsync<Job, Job>(
            "test.slow", new Job(1, "stall", key), RpcCallSettings.Create().WithTimeout(timeout), CancellationToken.None);
        await handlerStarted.WaitAsync(timeout); // the server handler must run for its token to be cancelled
        var result = await call;

        var elapsed = Stopwatch.GetElapsedTime(started);
        var after = Assert.IsType<RpcResult<Job>.Timeout>(result).After;
        Assert.InRange(after, timeout - TimeSpan.FromMilliseconds(15), timeout + tolerance); // timer resolution
        Assert.InRange(elapsed, timeout - TimeSpan.FromMilliseconds(15), timeout + tolerance);
        var handlerCancelledAfter = await handlerCancelled.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.InRange(handlerCancelledAfter, TimeSpan.Zero, timeout + tolerance);
    }

    [Fact]
    public async Task MapRpc_should_cancel_the_handler_token_when_the_caller_disconnects()
    {
        var key = Guid.NewGuid().ToString("N");
        var (started, cancelled) = server.WatchSlow(key);
        using var http = new HttpClient();
        using var cts = new CancellationTokenSource();
        var body = JsonSerializer.Serialize(new Job(1, "stall", key), EventBusSettings.DefaultJsonOptions);
        var call = http.PostAsync( // no deadline header: only the disconnect can cancel the handler
            new Uri(server.BaseAddress, "/rpc/slow"), new StringContent(body, System.Text.Encoding.UTF8, "application/json"), cts.Token);

        await started.WaitAsync(TimeSpan.FromSeconds(5));
        await cts.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => call);
        await cancelled.WaitAsync(TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task CallAsync_should_end_as_cancelled_when_the_caller_cancels()
    {
        using var client = server.Client(s => s);
        using var cts = new CancellationTokenSource();
        var call = client.CallAsync<Job, Job>("test.slow", new Job(1, "stall", Guid.NewGuid().ToString("N")), cts.Token);

        await cts.CancelAsync();

        var failure = Assert.IsType<RpcResult<Job>.Failure>(await call.WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal(RpcFailureCodes.Cancelled, failure.Code);
    }

    [Fact]
    public void Flow_should_reject_an_invalid_procedure_name_with_the_rule()
    {
        using var client = server.Client(s => s);

        var noService = Assert.Throws<ArgumentException>(() => client.Flow<Job, Job>("get_booking"));
        var upper = Assert.Throws<ArgumentException>(() => client.Flow<Job, Job>("Test.GetBooking"));

        Assert.Contains("'service.procedure'", noService.Message, StringComparison.Ordinal);
        Assert.Contains("lower-case letters, digits, '-' and '_'", upper.Message, StringComparison.Ordinal);
    }
}
