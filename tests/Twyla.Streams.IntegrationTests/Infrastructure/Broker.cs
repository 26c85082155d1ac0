using RabbitMQ.Client;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Streams.IntegrationTests.Infrastructure;

/// <summary>
/// The RabbitMQ node that <c>./test.sh</c> starts for the run. Tests never skip without one: they fail and
/// say how to get one.
/// </summary>
public static class Broker
{
    public const string UriVariable = "Twyla__Amqp__Uri";

    public static string Uri =>
        Environment.GetEnvironmentVariable(UriVariable) is { Length: > 0 } uri
            ? uri
            : throw new InvalidOperationException(
                $"No RabbitMQ broker: the environment variable {UriVariable} is not set. Run the tests with ./test.sh, " +
                "which starts a private RabbitMQ node and sets it (e.g. ./test.sh --filter FullyQualifiedName~RabbitMq).");

    /// <summary>The node's TLS listener (<c>amqps://…@localhost:PORT/</c>), whose certificate a test CA signed.</summary>
    public static string TlsUri => Required("TWYLA_RABBITMQ_TLS_URI");

    /// <summary>The PEM file of the test CA that signed the node's TLS certificate.</summary>
    public static string CaFile => Required("TWYLA_RABBITMQ_CA_FILE");

    /// <summary>Settings for the test broker with an exchange of the test's own, so tests do not see each other's events.</summary>
    public static RabbitMqSettings Settings() => Settings(Uri);

    /// <summary>Settings for the broker at <paramref name="uri"/> (a node of the test's own) with an exchange of the test's own.</summary>
    public static RabbitMqSettings Settings(string uri) =>
        RabbitMqSettings.FromUri(uri).WithExchange("twyla.test." + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>A plain RabbitMQ.Client connection, as a service not using Twyla.Streams would have.</summary>
    public static Task<IConnection> RawConnectionAsync() =>
        new ConnectionFactory { Uri = new Uri(Uri), AutomaticRecoveryEnabled = false }.CreateConnectionAsync();

    private static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"The environment variable {variable} is not set: this test needs the private RabbitMQ node of ./test.sh. Run the tests with ./test.sh.");
}
