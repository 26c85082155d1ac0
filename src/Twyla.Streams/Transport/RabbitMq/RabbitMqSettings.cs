using System.Globalization;

namespace Twyla.Streams.Transport.RabbitMq;

/// <summary>
/// How an <see cref="EventBus"/> reaches RabbitMQ: the broker (or the hosts of a cluster), credentials, TLS,
/// the events exchange and the publisher limits. Immutable: start from <see cref="Default"/> (or
/// <see cref="Create()"/>) or <see cref="FromUri"/> and use the <c>With*</c> methods.
/// </summary>
/// <remarks>
/// The password never appears in <see cref="ToString"/>, logs or exception messages.
/// </remarks>
public sealed class RabbitMqSettings
{
    /// <summary>The AMQP port without TLS.</summary>
    public const int DefaultPort = 5672;

    /// <summary>The AMQP port with TLS.</summary>
    public const int DefaultTlsPort = 5671;

    /// <summary>The events exchange unless another is given.</summary>
    public const string DefaultExchange = "twyla.events";

    private RabbitMqSettings(
        string host,
        int? port,
        string userName,
        string password,
        string virtualHost,
        IReadOnlyList<string> clusterHosts,
        bool useTls,
        string exchange,
        TimeSpan confirmTimeout,
        string connectionName,
        int maxBodySize,
        string? tlsCertificateAuthorityFile)
    {
        Host = host;
        ExplicitPort = port;
        UserName = userName;
        Password = password;
        VirtualHost = virtualHost;
        ClusterHosts = clusterHosts;
        UseTls = useTls;
        Exchange = exchange;
        ConfirmTimeout = confirmTimeout;
        ConnectionName = connectionName;
        MaxBodySize = maxBodySize;
        TlsCertificateAuthorityFile = tlsCertificateAuthorityFile;
    }

    /// <summary>The broker's host name (the first one tried).</summary>
    public string Host { get; }

    /// <summary>The broker's AMQP port: as given, else 5671 with TLS and 5672 without.</summary>
    public int Port => ExplicitPort ?? (UseTls ? DefaultTlsPort : DefaultPort);

    /// <summary>The user name.</summary>
    public string UserName { get; }

    /// <summary>The virtual host, <c>/</c> by default.</summary>
    public string VirtualHost { get; }

    /// <summary>
    /// Further hosts of a cluster (<c>host</c> or <c>host:port</c>), tried in order after <see cref="Host"/>
    /// when it does not answer.
    /// </summary>
    public IReadOnlyList<string> ClusterHosts { get; }

    /// <summary>Whether connections use TLS (<c>amqps://</c>).</summary>
    public bool UseTls { get; }

    /// <summary>The durable topic exchange events are published to, <c>twyla.events</c> by default.</summary>
    public string Exchange { get; }

    /// <summary>
    /// The one confirm timeout of the bus, 30 s by default: how long an emit (an emit stream or <c>EmitAsync</c>, opening
    /// its publisher included) and the bus's own publishes (retries, dead letters, replays, the contract log) wait for
    /// the broker's confirm before they fail.
    /// </summary>
    public TimeSpan ConfirmTimeout { get; }

    /// <summary>The connection's name as the broker shows it, <c>twyla-streams</c> by default.</summary>
    public string ConnectionName { get; }

    /// <summary>
    /// The largest message body a listener accepts (4 MiB by default); a larger message is dead-lettered
    /// with the reason instead of being handed to the handler, and an emit of a larger payload fails with
    /// <see cref="Emit.EmitException"/> before anything is sent.
    /// </summary>
    public int MaxBodySize { get; }

    /// <summary>
    /// A PEM file with the certificate of a private certificate authority that signed the broker's TLS
    /// certificate, trusted besides the system's authorities; <c>null</c> to trust only the system's.
    /// </summary>
    public string? TlsCertificateAuthorityFile { get; }

    internal int? ExplicitPort { get; }

    internal string Password { get; }

    /// <summary>Settings for a broker on <c>localhost:5672</c>, user <c>guest</c>, virtual host <c>/</c>.</summary>
    public static RabbitMqSettings Default { get; } = new(
        "localhost",
        null,
        "guest",
        "guest",
        "/",
        [],
        false,
        DefaultExchange,
        ConfirmTimeouts.Default,
        "twyla-streams",
        4 * 1024 * 1024,
        null);

    /// <summary>The <see cref="Default"/> settings, to change with the <c>With*</c> methods.</summary>
    /// <returns>The settings.</returns>
    public static RabbitMqSettings Create() => Default;

    /// <summary>
    /// Settings from an AMQP URI, <c>amqp://user:password@host:port/vhost</c> or <c>amqps://…</c> for TLS
    /// (the vhost is URL-encoded: <c>%2F</c> is <c>/</c>; an empty path is the default vhost <c>/</c>).
    /// </summary>
    /// <param name="uri">The URI.</param>
    /// <returns>The settings.</returns>
    /// <exception cref="ArgumentException">The URI is not an AMQP URI (the message never shows the password).</exception>
    public static RabbitMqSettings FromUri(string uri) => Create().WithUri(uri);

    /// <summary>A copy that takes host, port, credentials, vhost and TLS from an AMQP URI (see <see cref="FromUri"/>).</summary>
    /// <param name="uri">The URI.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithUri(string uri)
    {
        if (string.IsNullOrWhiteSpace(uri) || !Uri.TryCreate(uri.Trim(), UriKind.Absolute, out var parsed) ||
            (parsed.Scheme != "amqp" && parsed.Scheme != "amqps"))
        {
            throw new ArgumentException(
                $"'{Redact(uri)}' is not an AMQP URI: expected amqp://user:password@host:port/vhost or amqps://… for TLS.",
                nameof(uri));
        }

        if (string.IsNullOrEmpty(parsed.Host))
        {
            throw new ArgumentException(
                $"'{Redact(uri)}' names no host: expected amqp://user:password@host:port/vhost, e.g. amqp://guest:guest@localhost:5672/.",
                nameof(uri));
        }

        var user = UserName;
        var password = Password;
        if (parsed.UserInfo.Length > 0)
        {
            var colon = parsed.UserInfo.IndexOf(':', StringComparison.Ordinal);
            user = Uri.UnescapeDataString(colon < 0 ? parsed.UserInfo : parsed.UserInfo[..colon]);
            password = colon < 0 ? string.Empty : Uri.UnescapeDataString(parsed.UserInfo[(colon + 1)..]);
        }

        var path = parsed.AbsolutePath.TrimStart('/');
        var vhost = path.Length == 0 ? "/" : Uri.UnescapeDataString(path);
        return Copy(
            host: parsed.Host,
            port: parsed.IsDefaultPort || parsed.Port < 0 ? null : parsed.Port,
            clearPort: parsed.IsDefaultPort || parsed.Port < 0,
            userName: user,
            password: password,
            virtualHost: vhost,
            useTls: parsed.Scheme == "amqps");
    }

    /// <summary>A copy connecting to <paramref name="host"/>.</summary>
    /// <param name="host">The host name or address.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithHost(string host)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(host);
        return Copy(host: host);
    }

    /// <summary>A copy connecting to <paramref name="port"/>.</summary>
    /// <param name="port">The AMQP port, 1 to 65535.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithPort(int port)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(port, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(port, 65535);
        return Copy(port: port);
    }

    /// <summary>A copy that logs in with the user name it has and <paramref name="password"/>.</summary>
    /// <param name="password">The password.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithPassword(string password)
    {
        ArgumentNullException.ThrowIfNull(password);
        return WithCredentials(UserName, password);
    }

    /// <summary>A copy that logs in with <paramref name="userName"/> and the password it has.</summary>
    /// <param name="userName">The user name; not empty.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithUserName(string userName) => WithCredentials(userName, Password);

    /// <summary>A copy with other credentials.</summary>
    /// <param name="userName">The user name.</param>
    /// <param name="password">The password.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithCredentials(string userName, string password)
    {
        ArgumentException.ThrowIfNullOrEmpty(userName);
        ArgumentNullException.ThrowIfNull(password);
        return Copy(userName: userName, password: password);
    }

    /// <summary>A copy using another virtual host.</summary>
    /// <param name="virtualHost">The virtual host, e.g. <c>/</c> or <c>bookings</c>.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithVirtualHost(string virtualHost)
    {
        ArgumentException.ThrowIfNullOrEmpty(virtualHost);
        return Copy(virtualHost: virtualHost);
    }

    /// <summary>
    /// A copy that also knows the other hosts of a cluster, tried in order when <see cref="Host"/> does not answer.
    /// </summary>
    /// <param name="hosts">Hosts as <c>host</c> or <c>host:port</c> (the port defaults to <see cref="Port"/>).</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithClusterHosts(IEnumerable<string> hosts)
    {
        ArgumentNullException.ThrowIfNull(hosts);
        var list = hosts.ToArray();
        foreach (var h in list)
        {
            _ = ParseHostPort(h, DefaultPort);
        }

        return Copy(clusterHosts: list);
    }

    /// <summary>A copy with TLS on or off (the port follows unless set explicitly: 5671 with TLS, 5672 without).</summary>
    /// <param name="enabled">Whether to use TLS.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithTls(bool enabled) => Copy(useTls: enabled);

    /// <summary>
    /// A copy that also trusts the certificate authority in <paramref name="pemFile"/> for the broker's TLS
    /// certificate (for brokers with certificates from a private CA). The host name is still checked.
    /// </summary>
    /// <param name="pemFile">Path of the CA certificate, PEM encoded.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithTlsCertificateAuthority(string pemFile)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(pemFile);
        return Copy(tlsCertificateAuthorityFile: pemFile);
    }

    /// <summary>A copy publishing to, and binding listener queues on, another exchange.</summary>
    /// <param name="exchange">The exchange name.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithExchange(string exchange)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(exchange);
        if (exchange.Length > 255)
        {
            throw new ArgumentException("An exchange name is at most 255 characters.", nameof(exchange));
        }

        return Copy(exchange: exchange);
    }

    /// <summary>A copy with another confirm timeout.</summary>
    /// <param name="timeout">How long an emit waits for the broker's confirm; positive.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithConfirmTimeout(TimeSpan timeout)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        return Copy(confirmTimeout: timeout);
    }

    /// <summary>A copy whose connection shows <paramref name="connectionName"/> in the broker.</summary>
    /// <param name="connectionName">The name, e.g. the service's name.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithConnectionName(string connectionName)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionName);
        return Copy(connectionName: connectionName);
    }

    /// <summary>A copy with another limit on the size of message bodies a listener accepts.</summary>
    /// <param name="bytes">At least 1.</param>
    /// <returns>The new settings.</returns>
    public RabbitMqSettings WithMaxBodySize(int bytes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(bytes, 1);
        return Copy(maxBodySize: bytes);
    }

    /// <summary>Where the bus connects, for logs: <c>amqp://host:port/vhost</c>, never with credentials.</summary>
    /// <returns>The description.</returns>
    public override string ToString()
    {
        var scheme = UseTls ? "amqps" : "amqp";
        var vhost = VirtualHost == "/" ? string.Empty : Uri.EscapeDataString(VirtualHost);
        var others = ClusterHosts.Count == 0 ? string.Empty : $" (+{string.Join(",", ClusterHosts)})";
        return string.Create(CultureInfo.InvariantCulture, $"{scheme}://{Host}:{Port}/{vhost}{others}");
    }

    /// <summary>Every endpoint to try, in order: <see cref="Host"/> first, then <see cref="ClusterHosts"/>.</summary>
    internal IReadOnlyList<(string Host, int Port)> Endpoints()
    {
        var list = new List<(string, int)> { (Host, Port) };
        list.AddRange(ClusterHosts.Select(h => ParseHostPort(h, Port)));
        return list;
    }

    private static (string Host, int Port) ParseHostPort(string? value, int defaultPort)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            throw new ArgumentException("A cluster host must be non-empty: 'host' or 'host:port'.", nameof(value));
        }

        var colon = value.LastIndexOf(':');
        if (colon < 0 || value.EndsWith(']'))
        {
            return (value.Trim(), defaultPort);
        }

        if (!int.TryParse(value[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var port) || port is < 1 or > 65535)
        {
            throw new ArgumentException($"'{value}' is not a valid cluster host: expected 'host' or 'host:port'.", nameof(value));
        }

        return (value[..colon].Trim(), port);
    }

    /// <summary>
    /// The URI with everything that may hold credentials replaced by <c>***</c>, for error messages: all between the
    /// scheme (or the start, when the scheme is mistyped) and the last <c>@</c>. A mistyped URI cannot be trusted to
    /// have its user and password where they belong (<c>amqp//bob:pw@host</c>, <c>amqp://bob@pw@host</c>).
    /// </summary>
    private static string Redact(string? uri)
    {
        if (uri is null)
        {
            return string.Empty;
        }

        var at = uri.LastIndexOf('@');
        if (at < 0)
        {
            return uri;
        }

        var schemeEnd = uri.IndexOf("://", StringComparison.Ordinal);
        var start = schemeEnd >= 0 && schemeEnd < at ? schemeEnd + 3 : 0;
        return $"{uri[..start]}***{uri[at..]}";
    }

    private RabbitMqSettings Copy(
        string? host = null,
        int? port = null,
        bool clearPort = false,
        string? userName = null,
        string? password = null,
        string? virtualHost = null,
        IReadOnlyList<string>? clusterHosts = null,
        bool? useTls = null,
        string? exchange = null,
        TimeSpan? confirmTimeout = null,
        string? connectionName = null,
        int? maxBodySize = null,
        string? tlsCertificateAuthorityFile = null) =>
        new(
            host ?? Host,
            clearPort ? null : port ?? ExplicitPort,
            userName ?? UserName,
            password ?? Password,
            virtualHost ?? VirtualHost,
            clusterHosts ?? ClusterHosts,
            useTls ?? UseTls,
            exchange ?? Exchange,
            confirmTimeout ?? ConfirmTimeout,
            connectionName ?? ConnectionName,
            maxBodySize ?? MaxBodySize,
            tlsCertificateAuthorityFile ?? TlsCertificateAuthorityFile);
}
