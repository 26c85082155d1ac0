using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.IntegrationTests.Transport.RabbitMq;

public class RabbitMqTlsTests
{
    [Fact]
    public async Task Events_should_flow_over_amqps_when_the_broker_certificate_is_trusted()
    {
        var settings = Broker.Settings(Broker.TlsUri).WithTlsCertificateAuthority(Broker.CaFile);
        await using var transport = new RabbitMqTransport(settings);
        var topology = TestEvents.Topology("secure.event");
        var probe = new DeliveryProbe();
        await using var consumer = await transport.StartConsumerAsync(topology, 5, probe, default);
        await using var publisher = await transport.OpenPublisherAsync(default);
        var sent = TestEvents.Envelope("secure.event", "{\"over\":\"tls\"}");

        await publisher.PublishAsync(sent, mandatory: true, default);
        var got = await probe.NextAsync();

        Assert.StartsWith("amqps://localhost:", transport.Description, StringComparison.Ordinal);
        Assert.True(settings.UseTls);
        Assert.Equal(sent.Metadata, got.Envelope!.Metadata);
        Assert.Equal("{\"over\":\"tls\"}", got.Text());
    }

    [Fact]
    public async Task Connecting_over_amqps_should_fail_clearly_when_the_broker_certificate_is_not_trusted()
    {
        var settings = RabbitMqSettings.FromUri(Broker.TlsUri).WithCredentials("guest", "NotShown42");

        var e = await Assert.ThrowsAnyAsync<Exception>(() =>
            EventBus.ConnectRabbitMqAsync(settings, EventBusSettings.Create("tests"), default));

        Assert.Contains(settings.ToString(), e.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("NotShown42", e.ToString(), StringComparison.Ordinal);
    }
}
