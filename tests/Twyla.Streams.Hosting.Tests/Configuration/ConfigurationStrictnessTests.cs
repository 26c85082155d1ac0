using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Configuration;

/// <summary>
/// A configuration mistake fails the host's start naming the key, instead of silently changing what runs: mistyped
/// keys (mostly environment variables), no broker outside Development, RPC settings, an AMQP URI without a host.
/// The environment variables carry a prefix of this class's own (<see cref="Prefix"/>, removed by
/// <c>AddEnvironmentVariables(prefix)</c>), so hosts of tests running in parallel never see them.
/// </summary>
[Collection(EnvironmentCollection.Name)]
public sealed class ConfigurationStrictnessTests : IDisposable
{
    private const string Prefix = "TWYLA_CONFIG_TESTS_";

    private readonly List<string> _set = [];

    public void Dispose()
    {
        foreach (var variable in _set)
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Fact]
    public async Task Host_start_should_fail_naming_a_mistyped_environment_variable_and_the_key_it_meant()
    {
        SetVariable("Twyla__Ampq__Uri", "amqp://guest:guest@rabbit:5672/");
        SetVariable("Twyla__Amqp__Url", "amqp://guest:guest@rabbit:5672/");
        SetVariable("Twyla__Rcp__Timeout", "5");

        var error = await StartFailureAsync(Environments.Development, Variables());

        Assert.Contains("Twyla:Ampq:Uri is not a known setting: did you mean Twyla:Amqp:Uri? (as an environment variable: Twyla__Amqp__Uri)",
            error.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla:Amqp:Url is not a known setting: did you mean Twyla:Amqp:Uri?", error.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla:Rcp:Timeout is not a known setting: did you mean Twyla:Rpc:Timeout?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_should_accept_known_keys_in_any_case_as_configuration_does()
    {
        SetVariable("twyla__amqp__URI", "amqp://guest:guest@rabbit.case-test:5679/");

        await WithStartedHostAsync(Environments.Production, Variables(), host =>
        {
            Assert.Contains("rabbit.case-test:5679", host.Services.GetRequiredService<EventBus>().TransportDescription, StringComparison.Ordinal);
            return Task.CompletedTask;
        });
    }

    [Fact]
    public async Task Host_start_should_fail_naming_a_mistyped_RPC_key()
    {
        SetVariable("Twyla__Rpc__Timout", "5");
        var builder = HostBuilder(Environments.Development, Variables());
        builder.Services.AddRpc(builder.Configuration);
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(CancellationToken.None));

        Assert.Contains("Twyla:Rpc:Timout is not a known setting: did you mean Twyla:Rpc:Timeout?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_start_should_fail_outside_Development_saying_how_to_configure_a_broker_when_none_is()
    {
        var error = await StartFailureAsync(Environments.Production, Memory([]));

        Assert.Contains("No event broker is configured (environment: Production)", error.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla__Amqp__Uri=amqp://", error.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla:Transport=InMemory", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_start_should_fail_when_the_only_broker_setting_is_mistyped()
    {
        SetVariable("Twyla__Ampq__Uri", "amqp://guest:guest@rabbit:5672/");

        var error = await StartFailureAsync(Environments.Staging, Variables());

        Assert.Contains("did you mean Twyla:Amqp:Uri?", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task In_memory_fallback_should_run_in_Development_and_report_healthy()
    {
        await WithStartedHostAsync(Environments.Development, Memory([]), async host =>
        {
            Assert.Equal("in-memory", host.Services.GetRequiredService<EventBus>().TransportDescription);
            Assert.Equal(HealthStatus.Healthy, (await BrokerHealthAsync(host)).Status);
        });
    }

    [Fact]
    public async Task Explicit_in_memory_transport_should_run_in_Production_and_report_degraded_saying_why()
    {
        SetVariable("Twyla__Transport", "InMemory");
        await WithStartedHostAsync(Environments.Production, Variables(), async host =>
        {
            Assert.Equal("in-memory", host.Services.GetRequiredService<EventBus>().TransportDescription);
            var broker = await BrokerHealthAsync(host);
            Assert.Equal(HealthStatus.Degraded, broker.Status);
            Assert.Contains("in-memory transport in the Production environment", broker.Description, StringComparison.Ordinal);
            Assert.Contains("lost when it stops", broker.Description, StringComparison.Ordinal);
        });
    }

    [Fact]
    public async Task Rpc_timeout_in_seconds_should_be_seconds_like_the_drain_timeout()
    {
        var builder = HostBuilder(Environments.Production, Memory(new()
        {
            ["Twyla:Rpc:Timeout"] = "5",
            ["Twyla:Rpc:Server:FlowBufferSize"] = "8",
            ["Twyla:Rpc:Server:FlowAnswerTimeout"] = "3",
        }));
        builder.Services.AddRpc(builder.Configuration);
        await using var services = builder.Services.BuildServiceProvider();

        Assert.Equal(TimeSpan.FromSeconds(5), services.GetRequiredService<RpcClient>().Settings.CallDefaults.Timeout);
        Assert.Equal(8, services.GetRequiredService<IOptions<RpcServerOptions>>().Value.FlowBufferSize);
        Assert.Equal(TimeSpan.FromSeconds(3), services.GetRequiredService<IOptions<RpcServerOptions>>().Value.FlowAnswerTimeout);
    }

    [Fact]
    public async Task Host_start_should_fail_naming_the_key_when_an_RPC_setting_is_invalid()
    {
        var builder = HostBuilder(Environments.Production, Memory(new()
        {
            ["Twyla:Rpc:Timeout"] = "soon",
            ["Twyla:Rpc:Server:FlowBufferSize"] = "many",
            ["Twyla:Rpc:Services:navitaire-api"] = "ftp://navitaire",
            ["Twyla:Rpc:UrlTemplate"] = "http://no-placeholder",
        }));
        builder.Services.AddRpc(builder.Configuration);
        using var host = builder.Build();

        var error = await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(CancellationToken.None));

        Assert.Contains("Twyla:Rpc:Timeout is 'soon': expected a duration, more than zero, as a time span (00:00:20) or a number of seconds (20).",
            error.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla:Rpc:Server:FlowBufferSize is 'many': expected a number of requests, 1 or more.", error.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla:Rpc:Services:navitaire-api is 'ftp://navitaire': 'ftp://navitaire/' is not an absolute http(s) URL.",
            error.Message, StringComparison.Ordinal);
        Assert.Contains("Twyla:Rpc:UrlTemplate is 'http://no-placeholder': The URL template must be an absolute http(s) URL containing '{service}'",
            error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("amqp://")]
    [InlineData("amqps://")]
    public async Task Host_start_should_fail_naming_the_key_when_the_AMQP_uri_has_no_host(string uri)
    {
        var error = await StartFailureAsync(Environments.Production, Memory(new() { ["Twyla:Amqp:Uri"] = uri }));

        Assert.IsType<OptionsValidationException>(error);
        Assert.Contains("Twyla:Amqp:Uri: '", error.Message, StringComparison.Ordinal);
        Assert.Contains("' names no host: expected amqp://user:password@host:port/vhost", error.Message, StringComparison.Ordinal);
    }

    private void SetVariable(string name, string value)
    {
        _set.Add(Prefix + name);
        Environment.SetEnvironmentVariable(Prefix + name, value);
    }

    private static IConfigurationBuilder Variables() => new ConfigurationBuilder().AddEnvironmentVariables(Prefix);

    private static IConfigurationBuilder Memory(Dictionary<string, string?> values) => new ConfigurationBuilder().AddInMemoryCollection(values);

    private static HostApplicationBuilder HostBuilder(string environment, IConfigurationBuilder configuration)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, EnvironmentName = environment });
        builder.Configuration.AddConfiguration(configuration.Build());
        return builder;
    }

    private static async Task<Exception> StartFailureAsync(string environment, IConfigurationBuilder configuration)
    {
        var builder = HostBuilder(environment, configuration);
        builder.AddTwyla(_ => { });
        using var host = builder.Build();
        return await Assert.ThrowsAnyAsync<Exception>(() => host.StartAsync(CancellationToken.None));
    }

    private static async Task WithStartedHostAsync(string environment, IConfigurationBuilder configuration, Func<IHost, Task> test)
    {
        var builder = HostBuilder(environment, configuration);
        builder.AddTwyla(_ => { });
        using var host = builder.Build();
        await host.StartAsync(CancellationToken.None);
        try
        {
            await test(host);
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }
    }

    private static async Task<HealthReportEntry> BrokerHealthAsync(IHost host)
    {
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(CancellationToken.None);
        return report.Entries[TwylaServiceCollectionExtensions.BrokerHealthCheckName];
    }
}
