using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Twyla.Streams.Hosting;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.TestKit.Tests.Hosting;

/// <summary>A service built with AddTwyla, run by the test host: in-memory bus, fake procedures, probes.</summary>
public sealed class TwylaTestHostTests : Akka.TestKit.Xunit2.TestKit
{
    /// <summary>Expectations wait up to 10 s (the TestKit's default is 3 s): calls and emits on a loaded machine.</summary>
    public TwylaTestHostTests()
        : base("akka.test.single-expect-default = 10s")
    {
    }

    private const string GetBookingProcedure = "navitaire-api.get_booking";

    /// <summary>
    /// The deadline of the service's calls to navitaire where a test needs them answered: a bound for a hang only. A call
    /// to the fakes is answered in process, but on a loaded machine the first one took 0.9 s, past a 500 ms deadline.
    /// </summary>
    private static readonly TimeSpan AnsweredCallTimeout = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The service as its Program configures it: asks navitaire (each call's deadline <paramref name="callTimeout"/>),
    /// confirms known bookings, dead-letters unknown ones.
    /// </summary>
    private static Action<IHostApplicationBuilder> ConfigureService(TimeSpan callTimeout) => builder =>
    {
        builder.Configuration["Twyla:ServiceName"] = "booking";
        builder.Configuration["Twyla:Transport"] = "RabbitMq"; // production's choice: the test host runs in-memory anyway
        builder.Configuration["Twyla:Amqp:Uri"] = "amqp://guest:guest@127.0.0.1:1/";
        builder.Services.AddRpc(builder.Configuration, settings => settings.WithCallDefaults(RpcCallSettings.Create().WithTimeout(callTimeout)));
        builder.AddTwyla(akka => akka
            .AddHocon("akka.loglevel = WARNING", HoconAddMode.Prepend)
            .WithTwylaScopedListener<BookingRequested>("booking.requested", "confirmer", async (services, request) =>
            {
                var result = await services.GetRequiredService<RpcClient>()
                    .CallAsync<GetBooking, BookingDetails>(GetBookingProcedure, new GetBooking(request.Payload.Pnr), CancellationToken.None);
                switch (result)
                {
                    case RpcResult<BookingDetails>.Success(var details):
                        await services.GetRequiredService<EventBus>().EmitAsync(request.Derive("booking.confirmed", new BookingConfirmed(details.Pnr, details.Passenger)));
                        break;
                    case RpcResult<BookingDetails>.Failure failure:
                        await request.DropAsync($"{failure.Code}: {failure.Message}");
                        break;
                    case RpcResult<BookingDetails>.Timeout timeout:
                        await request.DropAsync($"no answer within {timeout.After}");
                        break;
                }
            }));
    };

    [Fact]
    public async Task A_hosted_service_should_run_its_listeners_on_the_in_memory_bus_with_fake_procedures()
    {
        var fakes = new FakeProcedures();
        fakes.Serve<GetBooking, BookingDetails>(GetBookingProcedure, (request, _) =>
            request.Pnr == "A1"
                ? Task.FromResult(new BookingDetails("A1", "Ada Lovelace"))
                : throw new RpcException("booking_not_found", $"navitaire has no booking {request.Pnr}.", 404));
        await using var host = await TwylaTestHost.StartAsync(ConfigureService(AnsweredCallTimeout), TwylaTestHostSettings.Default.WithFakeProcedures(fakes));
        var probes = host.CreateProbe(this);
        var confirmed = await probes.EmittedAsync<BookingConfirmed>("booking.confirmed");
        using var confirmer = probes.Listener("booking.requested", "confirmer");

        var known = await host.Bus.EmitAsync("booking.requested", new BookingRequested("A1", 2));
        var unknown = await host.Bus.EmitAsync("booking.requested", new BookingRequested("Z8", 1));

        Assert.True(host.Bus.IsInMemory);
        var confirmation = confirmed.RequestNext();
        Assert.Equal(new BookingConfirmed("A1", "Ada Lovelace"), confirmation.Payload);
        Assert.Equal(known.Id, confirmation.Metadata.CausationId);
        confirmer.ExpectConsumed(known.Id);
        Assert.Equal("booking_not_found: navitaire has no booking Z8.", confirmer.ExpectDeadLettered(unknown.Id));
    }

    [Fact]
    public async Task The_fake_client_should_keep_the_settings_the_service_gave_its_own_client()
    {
        var fakes = new FakeProcedures();
        fakes.NoAnswer(GetBookingProcedure);
        await using var host = await TwylaTestHost.StartAsync(
            ConfigureService(TimeSpan.FromMilliseconds(500)), TwylaTestHostSettings.Default.WithFakeProcedures(fakes));
        using var confirmer = host.CreateProbe(this).Listener("booking.requested", "confirmer");

        var request = await host.Bus.EmitAsync("booking.requested", new BookingRequested("A1", 2));

        // The service's 500 ms timeout, not the default 10 s: the event is dead-lettered well within 5 s.
        Assert.StartsWith("no answer within", confirmer.ExpectDeadLettered(request.Id, TimeSpan.FromSeconds(5)), StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromMilliseconds(500), host.Services.GetRequiredService<RpcClient>().Settings.CallDefaults.Timeout);
    }

    [Fact]
    public async Task Configuration_from_the_settings_should_reach_the_service()
    {
        await using var host = await TwylaTestHost.StartAsync(
            builder =>
            {
                builder.Services.AddSingleton(new Greeting(builder.Configuration["Greeting"] ?? "none"));
                builder.AddTwyla(_ => { });
            },
            TwylaTestHostSettings.Default.WithConfiguration("Greeting", "hello"));

        Assert.Equal("hello", host.Services.GetRequiredService<Greeting>().Text);
    }

    [Fact]
    public async Task Disposing_the_host_should_drain_its_listeners()
    {
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var host = await TwylaTestHost.StartAsync(builder => builder.AddTwyla(akka => akka
            .WithTwylaListener<BookingRequested>("booking.requested", "slow", async _ =>
            {
                started.TrySetResult();
                await release.Task;
            })));
        var bus = host.Bus;
        using var slow = host.CreateProbe(this).Listener("booking.requested", "slow");
        var request = await bus.EmitAsync("booking.requested", new BookingRequested("A1", 2));
        await started.Task.WaitAsync(TimeSpan.FromSeconds(10));

        var disposing = host.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted);
        release.SetResult();
        slow.ExpectConsumed(request.Id, TimeSpan.FromSeconds(10));
        await disposing.WaitAsync(TimeSpan.FromSeconds(30));
    }

    private sealed record Greeting(string Text);
}
