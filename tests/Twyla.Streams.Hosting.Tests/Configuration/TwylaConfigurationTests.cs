using Twyla.Streams.Hosting.Configuration;
using System.Text;
using Akka.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Twyla.Streams.Transport;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Configuration;

[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EnvironmentCollection
{
    public const string Name = "environment variables";
}

/// <summary>Configuration as a service gets it; tests that set environment variables run alone and restore them.</summary>
[Collection(EnvironmentCollection.Name)]
public sealed class TwylaConfigurationTests : IDisposable
{
    private static readonly string[] Variables =
    [
        "Twyla__Amqp__Uri", "Twyla__Transport", "TWYLA_AMQP_HOST", "TWYLA_AMQP_PORT", "TWYLA_AMQP_USER", "TWYLA_AMQP_PASS", "TWYLA_AMQP_VHOST",
    ];

    private readonly Dictionary<string, string?> _saved = Variables.ToDictionary(v => v, Environment.GetEnvironmentVariable);

    public TwylaConfigurationTests()
    {
        foreach (var variable in Variables)
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    public void Dispose()
    {
        foreach (var (variable, value) in _saved)
        {
            Environment.SetEnvironmentVariable(variable, value);
        }
    }

    [Fact]
    public void Options_should_bind_every_key_from_json()
    {
        var options = Options(Json("""
            {
              "Twyla": {
                "Transport": "RabbitMq",
                "Amqp": { "Uri": "amqp://app:secret@broker.local:5673/bookings", "Host": "other.local", "Port": 5674,
                          "User": "u", "Password": "p", "VirtualHost": "v" },
                "Exchange": "platform.events",
                "ServiceName": "booking-api",
                "Prefetch": 20,
                "MaxDeliveries": 3,
                "Parallelism": 8,
                "QueueType": "quorum",
                "DrainTimeout": "00:00:07",
                "MinBackoff": 0.5,
                "MaxBackoff": "00:01:00"
              }
            }
            """));

        Assert.Equal(TwylaTransport.RabbitMq, options.Transport);
        Assert.Equal("amqp://app:secret@broker.local:5673/bookings", options.Amqp.Uri);
        Assert.Equal("other.local", options.Amqp.Host);
        Assert.Equal(5674, options.Amqp.Port);
        Assert.Equal("u", options.Amqp.User);
        Assert.Equal("p", options.Amqp.Password);
        Assert.Equal("v", options.Amqp.VirtualHost);
        Assert.Equal("platform.events", options.Exchange);
        Assert.Equal("booking-api", options.ServiceName);
        Assert.Equal(20, options.Prefetch);
        Assert.Equal(3, options.MaxDeliveries);
        Assert.Equal(8, options.Parallelism);
        Assert.Equal(QueueType.Quorum, options.QueueType);
        Assert.Equal(TimeSpan.FromSeconds(7), options.DrainTimeout);
        Assert.Equal(TimeSpan.FromMilliseconds(500), options.MinBackoff);
        Assert.Equal(TimeSpan.FromMinutes(1), options.MaxBackoff);
    }

    [Fact]
    public void Options_should_take_the_AMQP_uri_from_Twyla__Amqp__Uri()
    {
        Environment.SetEnvironmentVariable("Twyla__Amqp__Uri", "amqp://guest:guest@rabbit.env:5672/%2F");

        var options = Options(Json("""{ "Twyla": { "Amqp": { "Uri": "amqp://from-json" } } }""").AddEnvironmentVariables());

        Assert.Equal("amqp://guest:guest@rabbit.env:5672/%2F", options.Amqp.Uri);
    }

    [Fact]
    public async Task Options_should_take_the_classic_TWYLA_AMQP_variables_over_the_json_file()
    {
        Environment.SetEnvironmentVariable("TWYLA_AMQP_HOST", "rabbit.platform");
        Environment.SetEnvironmentVariable("TWYLA_AMQP_PORT", "5679");
        Environment.SetEnvironmentVariable("TWYLA_AMQP_USER", "booking");
        Environment.SetEnvironmentVariable("TWYLA_AMQP_PASS", "s3cret");
        Environment.SetEnvironmentVariable("TWYLA_AMQP_VHOST", "prod");

        var configuration = Json("""{ "Twyla": { "Amqp": { "Host": "localhost", "Port": 5672 } } }""").AddEnvironmentVariables().Build();
        await using var provider = Services(configuration).BuildServiceProvider();
        var options = provider.GetRequiredService<IOptions<TwylaOptions>>().Value;

        Assert.Equal("rabbit.platform", options.Amqp.Host);
        Assert.Equal(5679, options.Amqp.Port);
        Assert.Equal("booking", options.Amqp.User);
        Assert.Equal("s3cret", options.Amqp.Password);
        Assert.Equal("prod", options.Amqp.VirtualHost);
        var bus = provider.GetRequiredService<EventBus>();
        Assert.Contains("rabbit.platform:5679/prod", bus.TransportDescription, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret", bus.TransportDescription, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_start_should_fail_naming_the_key_when_the_port_is_not_a_number()
    {
        Environment.SetEnvironmentVariable("TWYLA_AMQP_PORT", "abc");
        var error = await StartFailureAsync(Json("""{ "Twyla": { "Amqp": { "Port": "abc" } } }""").AddEnvironmentVariables());

        Assert.Contains("Twyla:Amqp:Port is 'abc': expected a port number from 1 to 65535.", error.Message, StringComparison.Ordinal);
        Assert.Contains("TWYLA_AMQP_PORT is 'abc': expected a port number from 1 to 65535.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_start_should_fail_naming_the_accepted_values_when_the_transport_is_unknown()
    {
        var error = await StartFailureAsync(Json("""{ "Twyla": { "Transport": "Kafka", "QueueType": "stream" } }"""));

        Assert.Contains("Twyla:Transport is 'Kafka': accepted values are InMemory, RabbitMq.", error.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla:QueueType is 'stream': accepted values are Classic, Quorum.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_start_should_fail_without_showing_the_password_when_the_uri_is_not_an_AMQP_uri()
    {
        var error = await StartFailureAsync(Json("""{ "Twyla": { "Amqp": { "Uri": "http://app:hunter2@broker.local" } } }"""));

        Assert.Contains("Twyla:Amqp:Uri: 'http://***@broker.local", error.Message, StringComparison.Ordinal); // user and password both hidden
        Assert.Contains("' is not an AMQP URI: expected amqp://user:password@host:port/vhost", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task One_failed_start_should_name_every_bad_key_unknown_unreadable_and_out_of_range_alike()
    {
        var error = await StartFailureAsync(Json("""
            { "Twyla": { "Ampq": { "Uri": "x" }, "RetryDelays": "junk", "Prefetch": 0, "MaxDeliveries": 5000 } }
            """));

        Assert.Contains("Twyla:Ampq:Uri is not a known setting", error.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla:RetryDelays is 'junk'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla:Prefetch is '0'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla:MaxDeliveries is '5000'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Ranges_should_be_the_library_settings_own_for_configured_and_coded_values_alike()
    {
        var configured = await StartFailureAsync(Json("""{ "Twyla": { "MaxDeliveries": 0 } }"""));
        Assert.Contains("Twyla:MaxDeliveries is '0': MaxDeliveries must be between 1 and 1,000.", configured.Message, StringComparison.Ordinal);

        var builder = HostBuilder(Json("{}"));
        builder.Services.AddTwylaEvents(o =>
        {
            o.DrainTimeout = TimeSpan.FromSeconds(-1);
            o.RetryDelays = [TimeSpan.FromDays(2)];
            o.MinBackoff = TimeSpan.FromSeconds(10);
            o.MaxBackoff = TimeSpan.FromSeconds(1);
        });
        using var host = builder.Build();
        var coded = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(CancellationToken.None));
        Assert.Contains("Twyla:DrainTimeout is '-00:00:01': The drain timeout must not be negative.", coded.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla:RetryDelays is '2.00:00:00': The retry delay 2.00:00:00 is not valid", coded.Message, StringComparison.Ordinal);
        Assert.Contains("MinBackoff (00:00:10) <= MaxBackoff (00:00:01)", coded.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_start_should_fail_when_a_value_set_in_code_is_out_of_range()
    {
        var builder = HostBuilder(Json("{}"));
        builder.Services.AddTwylaEvents(o => o.Prefetch = 0);
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(CancellationToken.None));
        Assert.Contains("Twyla:Prefetch is '0': Prefetch must be between 1 and 65,535 events.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_start_should_fail_saying_what_to_call_when_a_listener_has_no_event_bus()
    {
        var builder = HostBuilder(Json("{}"));
        builder.Services.AddAkka("no-bus", akka => akka.WithTwylaListener<Booking>("booking.created", "billing", _ => Task.CompletedTask));
        using var host = builder.Build();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => host.StartAsync(CancellationToken.None));
        Assert.Contains("call services.AddTwylaEvents()", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Bus_should_fall_back_to_in_memory_in_Development_and_say_so_when_nothing_is_configured()
    {
        var logs = new LogCapture();
        var services = Services(Json("{}").Build());
        services.AddLogging(b => b.AddProvider(logs));
        services.AddSingleton<IHostEnvironment>(new HostingEnvironment { EnvironmentName = Environments.Development, ApplicationName = "booking-api" });
        await using var provider = services.BuildServiceProvider();

        var bus = provider.GetRequiredService<EventBus>();

        Assert.Equal("in-memory", bus.TransportDescription);
        Assert.Contains(logs.Lines, l => l.Level == LogLevel.Warning &&
            l.Message.Contains("no transport configured", StringComparison.Ordinal) &&
            l.Message.Contains("using the in-memory transport", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bus_should_use_RabbitMq_when_an_AMQP_uri_is_configured()
    {
        await using var provider = Services(Json("""{ "Twyla": { "Amqp": { "Uri": "amqp://app:pw@broker.local:5673/bookings" }, "ServiceName": "svc" } }""").Build())
            .BuildServiceProvider();

        var bus = provider.GetRequiredService<EventBus>();

        Assert.Contains("broker.local:5673/bookings", bus.TransportDescription, StringComparison.Ordinal);
        Assert.Equal("svc", bus.Settings.ServiceName);
    }

    [Fact]
    public void Cluster_hosts_should_bind_from_configuration_and_be_tried_after_the_host()
    {
        var options = Options(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Twyla:Amqp:Uri"] = "amqp://guest:guest@rabbit-1:5672/",
            ["Twyla:Amqp:ClusterHosts"] = "rabbit-2, rabbit-3:5673",
        }));

        var rabbit = TwylaEventBusFactory.RabbitSettings(options);
        Assert.Equal(["rabbit-2", "rabbit-3:5673"], rabbit.ClusterHosts);
        Assert.Contains("(+rabbit-2,rabbit-3:5673)", rabbit.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Retry_delays_should_bind_from_one_key_with_commas_or_from_a_list()
    {
        Assert.Equal(
            [TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(5), TimeSpan.FromMinutes(1)],
            Options(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Twyla:RetryDelays"] = "0.5, 5, 00:01:00" })).RetryDelays!);
        Assert.Equal(
            [TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(20)],
            Options(Json("""{ "Twyla": { "RetryDelays": [ "00:00:02", "20" ] } }""")).RetryDelays!);
    }

    [Fact]
    public void The_service_wide_retry_delays_should_reach_every_hosted_listener_unless_it_has_its_own()
    {
        var service = Options(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Twyla:RetryDelays"] = "0.5, 5" }));

        var inherits = Twyla.Streams.Hosting.Listeners.ListenerSettings.Resolve(new Twyla.Streams.Hosting.TwylaListenerOptions(), service);
        var own = Twyla.Streams.Hosting.Listeners.ListenerSettings.Resolve(new Twyla.Streams.Hosting.TwylaListenerOptions { RetryDelays = [TimeSpan.FromSeconds(7)] }, service);

        Assert.Equal([TimeSpan.FromSeconds(0.5), TimeSpan.FromSeconds(5)], inherits.Listen.RetryDelays);
        Assert.Equal([TimeSpan.FromSeconds(7)], own.Listen.RetryDelays);
    }

    [Theory]
    [InlineData("1,soon", "Twyla:RetryDelays is '1,soon': expected durations separated by commas")]
    [InlineData("1,2,3,4,5,6,7,8,9,10,11", "Twyla:RetryDelays is '1,2,3,4,5,6,7,8,9,10,11': At most 10 retry delays")]
    [InlineData("90000", "Twyla:RetryDelays is '90000'")]
    public void A_bad_retry_delay_should_fail_naming_the_key_and_the_rule(string value, string message)
    {
        var error = Assert.ThrowsAny<Exception>(() =>
            Options(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Twyla:RetryDelays"] = value })));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private static IConfigurationBuilder Json(string json) =>
        new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)));

    private static ServiceCollection Services(IConfiguration configuration)
    {
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging();
        services.AddTwylaEvents();
        return services;
    }

    private static TwylaOptions Options(IConfigurationBuilder configuration)
    {
        var provider = Services(configuration.Build()).BuildServiceProvider();
        return provider.GetRequiredService<IOptions<TwylaOptions>>().Value; // no bus made: nothing to dispose
    }

    private static HostApplicationBuilder HostBuilder(IConfigurationBuilder configuration)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddConfiguration(configuration.Build());
        return builder;
    }

    private static async Task<Exception> StartFailureAsync(IConfigurationBuilder configuration)
    {
        var builder = HostBuilder(configuration);
        builder.AddTwyla(akka => akka.WithTwylaListener<Booking>("booking.created", "billing", _ => Task.CompletedTask));
        using var host = builder.Build();
        return await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(CancellationToken.None));
    }
}
