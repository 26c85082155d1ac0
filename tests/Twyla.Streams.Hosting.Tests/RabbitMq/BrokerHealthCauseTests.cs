using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.RabbitMq;

/// <summary>
/// When the broker health check cannot connect, its description says why, so an operator can fix the configuration
/// without reading the broker's log: refused credentials, an unknown virtual host, TLS rejected, an unreachable host.
/// Never the password.
/// </summary>
public sealed class BrokerHealthCauseTests
{
    private const string WrongPassword = "Wrong-Secret-42";

    [Fact]
    public async Task Broker_health_should_say_the_credentials_were_refused()
    {
        var uri = new UriBuilder(Broker.Uri) { Password = WrongPassword }.Uri.ToString();

        var entry = await BrokerHealthAsync(uri);

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("the broker refused the credentials of user 'guest'", entry.Description, StringComparison.Ordinal);
        Assert.Contains("ACCESS_REFUSED", entry.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongPassword, entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Broker_health_should_say_the_virtual_host_is_unknown()
    {
        var uri = new UriBuilder(Broker.Uri) { Path = "/no-such-vhost" }.Uri.ToString();

        var entry = await BrokerHealthAsync(uri);

        Assert.True(entry.Status == HealthStatus.Unhealthy, $"{uri}: {entry.Description}");
        Assert.Contains("the broker refused the virtual host 'no-such-vhost'", entry.Description, StringComparison.Ordinal);
        Assert.Contains("not found", entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EmitAsync_to_an_unknown_virtual_host_should_fail_with_EmitException_saying_why()
    {
        // Issue 9: the broker's refusal used to reach the caller as the client's raw OperationInterruptedException.
        var uri = new UriBuilder(Broker.Uri) { Path = "/no-such-vhost" }.Uri.ToString();
        await using var bus = EventBus.RabbitMq(Twyla.Streams.Transport.RabbitMq.RabbitMqSettings.FromUri(uri), EventBusSettings.Create("vhost-tests"));

        var failure = await Assert.ThrowsAsync<Twyla.Streams.Emit.EmitException>(() => bus.EmitAsync("vhost.checked", new Booking("b-1", 1)));

        Assert.Contains("no-such-vhost", failure.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Broker_health_should_say_the_host_cannot_be_reached()
    {
        var entry = await BrokerHealthAsync($"amqp://guest:{WrongPassword}@127.0.0.1:1/");

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("the broker cannot be reached (Connection refused)", entry.Description, StringComparison.Ordinal);
        Assert.DoesNotContain(WrongPassword, entry.Description, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Broker_health_should_say_the_TLS_certificate_was_rejected()
    {
        // The node's certificate is signed by a throw-away CA this process does not trust.
        var tlsUri = Environment.GetEnvironmentVariable("TWYLA_RABBITMQ_TLS_URI") is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("TWYLA_RABBITMQ_TLS_URI is not set: run the tests with ./test.sh.");

        var entry = await BrokerHealthAsync(tlsUri);

        Assert.Equal(HealthStatus.Unhealthy, entry.Status);
        Assert.Contains("the TLS handshake failed", entry.Description, StringComparison.Ordinal);
    }

    private static async Task<HealthReportEntry> BrokerHealthAsync(string uri)
    {
        var builder = new HostApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["Twyla:Amqp:Uri"] = uri });
        builder.Services.AddTwylaEvents();
        using var host = builder.Build();
        var report = await host.Services.GetRequiredService<HealthCheckService>().CheckHealthAsync(CancellationToken.None);
        return report.Entries[TwylaServiceCollectionExtensions.BrokerHealthCheckName];
    }
}
