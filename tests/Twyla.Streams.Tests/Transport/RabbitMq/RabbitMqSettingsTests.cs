using Twyla.Streams.Transport.RabbitMq;
using Xunit;

namespace Twyla.Streams.Tests.Transport.RabbitMq;

public class RabbitMqSettingsTests
{
    [Fact]
    public void FromUri_should_read_host_port_credentials_and_vhost()
    {
        var s = RabbitMqSettings.FromUri("amqp://app:s%40cret@rabbit.internal:5673/bookings");

        Assert.Equal("rabbit.internal", s.Host);
        Assert.Equal(5673, s.Port);
        Assert.Equal("app", s.UserName);
        Assert.Equal("bookings", s.VirtualHost);
        Assert.False(s.UseTls);
        Assert.Equal("twyla.events", s.Exchange);
        Assert.Equal(TimeSpan.FromSeconds(30), s.ConfirmTimeout);
        Assert.Equal(4 * 1024 * 1024, s.MaxBodySize);
    }

    [Fact]
    public void FromUri_should_default_the_vhost_and_pick_the_TLS_port_for_amqps()
    {
        var plain = RabbitMqSettings.FromUri("amqp://guest:guest@localhost/");
        var tls = RabbitMqSettings.FromUri("amqps://guest:guest@broker.example");

        Assert.Equal(("/", 5672, false), (plain.VirtualHost, plain.Port, plain.UseTls));
        Assert.Equal(("/", 5671, true), (tls.VirtualHost, tls.Port, tls.UseTls));
        Assert.Equal("/", RabbitMqSettings.FromUri("amqp://h/%2F").VirtualHost);
    }

    [Fact]
    public void ToString_should_say_where_the_bus_connects_and_never_show_credentials()
    {
        var s = RabbitMqSettings.FromUri("amqp://app:TopSecret1@rabbit.internal:5673/bookings")
            .WithClusterHosts(["rabbit-2:5673", "rabbit-3"]);

        Assert.Equal("amqp://rabbit.internal:5673/bookings (+rabbit-2:5673,rabbit-3)", s.ToString());
        Assert.DoesNotContain("TopSecret1", s.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("app", s.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("http://app:TopSecret1@rabbit:5672/")]
    [InlineData("amqp//app:TopSecret1@rabbit:5672/")] // the scheme's colon forgotten
    [InlineData("amqp://app@TopSecret1@rabbit:5672/")] // '@' typed for ':'
    [InlineData("amqp:/app:TopSecret1@rabbit:5672/")]
    public void FromUri_should_not_show_the_password_when_the_URI_is_rejected(string uri)
    {
        var e = Assert.Throws<ArgumentException>(() => RabbitMqSettings.FromUri(uri));

        Assert.DoesNotContain("TopSecret1", e.Message, StringComparison.Ordinal);
        Assert.Contains("@rabbit:5672/", e.Message, StringComparison.Ordinal); // still says which broker
    }

    [Fact]
    public void With_methods_should_return_changed_copies_and_leave_the_original_alone()
    {
        var a = RabbitMqSettings.Create();
        var b = a.WithHost("h").WithPort(1234).WithCredentials("u", "p").WithVirtualHost("v").WithExchange("x.events")
            .WithConfirmTimeout(TimeSpan.FromSeconds(5)).WithConnectionName("svc").WithTls(true)
            .WithMaxBodySize(100);

        Assert.Equal("amqp://localhost:5672/", a.ToString());
        Assert.Equal(("h", 1234, "u", "v", "x.events"), (b.Host, b.Port, b.UserName, b.VirtualHost, b.Exchange));
        Assert.Equal((TimeSpan.FromSeconds(5), "svc", true, 100), (b.ConfirmTimeout, b.ConnectionName, b.UseTls, b.MaxBodySize));
        Assert.Equal("amqps://h:1234/v", b.ToString());
    }

    [Fact]
    public void WithTlsCertificateAuthority_should_keep_the_CA_file_and_other_settings()
    {
        var s = RabbitMqSettings.FromUri("amqps://u:p@rabbit.internal/").WithExchange("x").WithTlsCertificateAuthority("/etc/ssl/private-ca.pem");

        Assert.Equal("/etc/ssl/private-ca.pem", s.TlsCertificateAuthorityFile);
        Assert.Equal(("x", true, 5671), (s.Exchange, s.UseTls, s.Port));
        Assert.Null(RabbitMqSettings.Create().TlsCertificateAuthorityFile);
    }

    [Fact]
    public void Endpoints_should_list_the_main_host_first_then_the_cluster_hosts()
    {
        var s = RabbitMqSettings.FromUri("amqp://u:p@a:5000/").WithClusterHosts(["b", "c:6000"]);

        Assert.Equal([("a", 5000), ("b", 5000), ("c", 6000)], s.Endpoints());
    }

    [Fact]
    public void Invalid_values_should_be_refused()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => RabbitMqSettings.Create().WithPort(0));
        Assert.Throws<ArgumentOutOfRangeException>(() => RabbitMqSettings.Create().WithConfirmTimeout(TimeSpan.Zero));
        Assert.Throws<ArgumentException>(() => RabbitMqSettings.Create().WithClusterHosts(["h:notaport"]));
    }

    [Fact]
    public void WithUserName_and_WithPassword_should_each_keep_the_other_part_of_the_credentials()
    {
        var fromUri = RabbitMqSettings.FromUri("amqp://booking:secret@rabbit:5672/");
        var otherUser = fromUri.WithUserName("billing");
        var otherPassword = fromUri.WithPassword("new-secret");

        Assert.Equal(("billing", "secret"), (otherUser.UserName, otherUser.Password));
        Assert.Equal(("booking", "new-secret"), (otherPassword.UserName, otherPassword.Password));
    }
}
