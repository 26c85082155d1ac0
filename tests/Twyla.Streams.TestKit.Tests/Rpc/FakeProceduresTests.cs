using System.Text.Json.Nodes;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.TestKit.Tests.Rpc;

/// <summary>Fake procedures produce every result a real call can end in, through the real client and endpoint.</summary>
public sealed class FakeProceduresTests
{
    private const string GetBookingProcedure = "navitaire-api.get_booking";

    private static readonly RpcCallSettings Fast = RpcCallSettings.Create().WithTimeout(TimeSpan.FromMilliseconds(300));

    [Fact]
    public async Task A_served_procedure_should_answer_with_success_and_record_the_call()
    {
        var fakes = new FakeProcedures();
        fakes.Serve<GetBooking, BookingDetails>(GetBookingProcedure, (request, _) => Task.FromResult(new BookingDetails(request.Pnr, "Ada Lovelace")));
        using var rpc = fakes.CreateClient();

        var result = await rpc.CallAsync<GetBooking, BookingDetails>(
            GetBookingProcedure, new GetBooking("A1"), RpcCallSettings.Create().WithCorrelationId("corr-1"), CancellationToken.None);

        Assert.Equal(new RpcResult<BookingDetails>.Success(new BookingDetails("A1", "Ada Lovelace")), result);
        var call = Assert.Single(fakes.CallsTo(GetBookingProcedure));
        Assert.Equal("""{"pnr":"A1"}""", call.Body);
        Assert.Equal("corr-1", call.CorrelationId);
        Assert.InRange(call.Deadline!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_configured_service_address_should_be_served_by_the_fakes_too()
    {
        var fakes = new FakeProcedures();
        fakes.Respond(GetBookingProcedure, new BookingDetails("A1", "Ada Lovelace"));
        var settings = RpcClientSettings.Create().WithService("navitaire-api", new Uri("http://127.0.0.1:1/"));
        using var rpc = fakes.CreateClient(settings);

        var result = await rpc.CallAsync<GetBooking, BookingDetails>(GetBookingProcedure, new GetBooking("ANY"), CancellationToken.None);

        Assert.True(result.IsSuccess, result.ToString());
    }

    [Fact]
    public async Task A_failing_procedure_should_answer_with_its_code_message_and_status()
    {
        var fakes = new FakeProcedures();
        fakes.Fail(GetBookingProcedure, "booking_not_found", "navitaire has no booking Z8.", 404);
        using var rpc = fakes.CreateClient();

        var result = await rpc.CallAsync<GetBooking, BookingDetails>(GetBookingProcedure, new GetBooking("Z8"), CancellationToken.None);

        Assert.Equal(new RpcResult<BookingDetails>.Failure("booking_not_found", "navitaire has no booking Z8.", 404), result);
    }

    [Fact]
    public async Task A_handler_should_answer_with_a_failure_by_throwing_an_RpcException_as_a_real_procedure_does()
    {
        var fakes = new FakeProcedures();
        fakes.Serve<GetBooking, BookingDetails>(GetBookingProcedure, (request, _) =>
            request.Pnr == "A1"
                ? Task.FromResult(new BookingDetails("A1", "Ada Lovelace"))
                : throw new RpcException("booking_not_found", $"navitaire has no booking {request.Pnr}.", 404));
        using var rpc = fakes.CreateClient();

        var known = await rpc.CallAsync<GetBooking, BookingDetails>(GetBookingProcedure, new GetBooking("A1"), CancellationToken.None);
        var unknown = await rpc.CallAsync<GetBooking, BookingDetails>(GetBookingProcedure, new GetBooking("Z8"), CancellationToken.None);

        Assert.True(known.IsSuccess);
        Assert.Equal(new RpcResult<BookingDetails>.Failure("booking_not_found", "navitaire has no booking Z8.", 404), unknown);
    }

    [Fact]
    public async Task A_request_the_procedure_cannot_read_should_fail_as_invalid_request()
    {
        var fakes = new FakeProcedures();
        fakes.Serve<GetBooking, BookingDetails>(GetBookingProcedure, (request, _) => Task.FromResult(new BookingDetails(request.Pnr, "Ada")));
        using var rpc = fakes.CreateClient();

        var result = await rpc.CallAsync<JsonObject, BookingDetails>(GetBookingProcedure, new JsonObject { ["passenger"] = "Ada" }, CancellationToken.None);

        var failure = Assert.IsType<RpcResult<BookingDetails>.Failure>(result);
        Assert.Equal(RpcFailureCodes.InvalidRequest, failure.Code);
        Assert.Equal(400, failure.Status);
        Assert.Contains("'pnr'", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_procedure_that_never_answers_should_end_the_call_as_a_timeout_at_its_deadline()
    {
        var fakes = new FakeProcedures();
        fakes.NoAnswer(GetBookingProcedure);
        using var rpc = fakes.CreateClient();

        var result = await rpc.CallAsync<GetBooking, BookingDetails>(GetBookingProcedure, new GetBooking("A1"), Fast, CancellationToken.None);

        Assert.IsType<RpcResult<BookingDetails>.Timeout>(result);
        Assert.Single(fakes.Calls);
    }

    [Fact]
    public async Task A_delay_should_end_the_call_as_a_timeout_beyond_its_deadline_and_answer_within_it()
    {
        var fakes = new FakeProcedures();
        fakes.Respond(GetBookingProcedure, new BookingDetails("A1", "Ada"));
        using var rpc = fakes.CreateClient();

        fakes.Delay(GetBookingProcedure, TimeSpan.FromSeconds(30));
        var late = await rpc.CallAsync<GetBooking, BookingDetails>(GetBookingProcedure, new GetBooking("A1"), Fast, CancellationToken.None);
        fakes.Delay(GetBookingProcedure, TimeSpan.FromMilliseconds(20));
        var inTime = await rpc.CallAsync<GetBooking, BookingDetails>(
            GetBookingProcedure, new GetBooking("A1"), RpcCallSettings.Create().WithTimeout(TimeSpan.FromSeconds(10)), CancellationToken.None);

        Assert.IsType<RpcResult<BookingDetails>.Timeout>(late);
        Assert.True(inTime.IsSuccess, inTime.ToString());
    }

    [Fact]
    public async Task A_procedure_the_fakes_do_not_serve_should_fail_as_on_a_real_server()
    {
        var fakes = new FakeProcedures();
        fakes.Respond(GetBookingProcedure, new BookingDetails("A1", "Ada"));
        using var rpc = fakes.CreateClient();

        var unknownProcedure = await rpc.CallAsync<GetBooking, BookingDetails>("navitaire-api.cancel_booking", new GetBooking("A1"), CancellationToken.None);
        var unknownService = await rpc.CallAsync<GetBooking, BookingDetails>("payments.charge", new GetBooking("A1"), CancellationToken.None);

        var notServed = Assert.IsType<RpcResult<BookingDetails>.Failure>(unknownProcedure);
        Assert.Equal((RpcFailureCodes.UnknownProcedure, 404), (notServed.Code, notServed.Status));
        Assert.Equal(RpcFailureCodes.ConnectionRefused, Assert.IsType<RpcResult<BookingDetails>.Failure>(unknownService).Code);
    }

    [Fact]
    public async Task A_handler_that_throws_should_answer_internal_error()
    {
        var fakes = new FakeProcedures();
        fakes.Serve<GetBooking, BookingDetails>(GetBookingProcedure, (_, _) => throw new InvalidOperationException("bug"));
        using var rpc = fakes.CreateClient(RpcClientSettings.Create().WithCallDefaults(RpcCallSettings.Create().WithRetries(1, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(10))));

        var result = await rpc.CallAsync<GetBooking, BookingDetails>(GetBookingProcedure, new GetBooking("A1"), CancellationToken.None);

        var failure = Assert.IsType<RpcResult<BookingDetails>.Failure>(result);
        Assert.Equal((RpcFailureCodes.InternalError, 500), (failure.Code, failure.Status));
    }

    [Fact]
    public void Fail_should_refuse_a_code_a_procedure_could_not_send()
    {
        var fakes = new FakeProcedures();

        Assert.Throws<ArgumentException>(() => fakes.Fail(GetBookingProcedure, "Not Found", "x", 404));
        Assert.Throws<ArgumentOutOfRangeException>(() => fakes.Fail(GetBookingProcedure, "not_found", "x", 200));
        Assert.Throws<ArgumentException>(() => fakes.Respond("no-dot", 1));
    }
}
