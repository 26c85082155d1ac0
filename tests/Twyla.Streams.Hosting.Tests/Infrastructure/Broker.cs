namespace Twyla.Streams.Hosting.Tests.Infrastructure;

/// <summary>
/// The RabbitMQ node that <c>./test.sh</c> starts for the run (<c>Twyla__Amqp__Uri</c>); tests that stop a broker
/// start one of their own (<see cref="PrivateBroker"/>). Tests never skip without one: they fail and say how to get one.
/// </summary>
public static class Broker
{
    public static string Uri =>
        Environment.GetEnvironmentVariable("Twyla__Amqp__Uri") is { Length: > 0 } uri
            ? uri
            : throw new InvalidOperationException(
                "No RabbitMQ broker: the environment variable Twyla__Amqp__Uri is not set. Run the tests with ./test.sh, " +
                "which starts a private RabbitMQ node and sets it (e.g. ./test.sh --filter FullyQualifiedName~Hosting).");

    /// <summary>The node's TLS listener (<c>amqps://…@localhost:PORT/</c>), whose certificate a CA the host does not trust signed.</summary>
    public static string TlsUri =>
        Environment.GetEnvironmentVariable("TWYLA_RABBITMQ_TLS_URI") is { Length: > 0 } uri
            ? uri
            : throw new InvalidOperationException(
                "The environment variable TWYLA_RABBITMQ_TLS_URI is not set: this test needs the private RabbitMQ node of ./test.sh. Run the tests with ./test.sh.");

    /// <summary>A group of the test's own, so tests and runs do not share queues.</summary>
    public static string UniqueGroup(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];
}
