namespace Twyla.Streams.Hosting;

/// <summary>
/// Where the RabbitMQ broker is (configuration section <c>Twyla:Amqp</c>). Every property is optional: <c>null</c>
/// keeps the default (<c>localhost:5672</c>, user <c>guest</c>, virtual host <c>/</c>). <see cref="Uri"/> is applied
/// first, the other properties override its parts. The platform's classic variables <c>TWYLA_AMQP_HOST</c>,
/// <c>TWYLA_AMQP_PORT</c>, <c>TWYLA_AMQP_USER</c>, <c>TWYLA_AMQP_PASS</c> and <c>TWYLA_AMQP_VHOST</c> override
/// the matching property when they are set.
/// </summary>
public sealed class TwylaAmqpOptions
{
    /// <summary>An AMQP URI, <c>amqp://user:password@host:port/vhost</c> (<c>Twyla:Amqp:Uri</c>, env <c>Twyla__Amqp__Uri</c>).</summary>
    public string? Uri { get; set; }

    /// <summary>The broker's host name (<c>Twyla:Amqp:Host</c>, env <c>TWYLA_AMQP_HOST</c>).</summary>
    public string? Host { get; set; }

    /// <summary>The broker's AMQP port, 1 to 65,535 (<c>Twyla:Amqp:Port</c>, env <c>TWYLA_AMQP_PORT</c>).</summary>
    public int? Port { get; set; }

    /// <summary>The user name (<c>Twyla:Amqp:User</c>, env <c>TWYLA_AMQP_USER</c>).</summary>
    public string? User { get; set; }

    /// <summary>The password (<c>Twyla:Amqp:Password</c>, env <c>TWYLA_AMQP_PASS</c>). Never logged.</summary>
    public string? Password { get; set; }

    /// <summary>The virtual host (<c>Twyla:Amqp:VirtualHost</c>, env <c>TWYLA_AMQP_VHOST</c>).</summary>
    public string? VirtualHost { get; set; }

    /// <summary>
    /// Further nodes of a cluster, tried in order after the host when it does not answer: <c>host</c> or
    /// <c>host:port</c>, separated by commas (<c>Twyla:Amqp:ClusterHosts</c>, e.g. <c>rabbit-2,rabbit-3:5673</c>).
    /// </summary>
    public string? ClusterHosts { get; set; }

    /// <summary>The cluster hosts as a list.</summary>
    internal string[] ClusterHostList =>
        ClusterHosts?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];

    /// <summary>Whether any connection property is set.</summary>
    internal bool IsConfigured =>
        Uri is not null || Host is not null || Port is not null || User is not null || Password is not null || VirtualHost is not null ||
        ClusterHosts is not null;
}
