using System.Diagnostics;
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
    public static RabbitMqSettings Settings() =>
        RabbitMqSettings.FromUri(Uri).WithExchange("twyla.test." + Guid.NewGuid().ToString("N")[..12]);

    /// <summary>A plain RabbitMQ.Client connection, as a service not using Twyla.Streams would have.</summary>
    public static Task<IConnection> RawConnectionAsync() =>
        new ConnectionFactory { Uri = new Uri(Uri), AutomaticRecoveryEnabled = false }.CreateConnectionAsync();

    private static string Required(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException(
                $"The environment variable {variable} is not set: this test needs the private RabbitMQ node of ./test.sh. Run the tests with ./test.sh.");

    public static Task KillAsync() => NodeAsync("kill");

    public static Task StartAsync() => NodeAsync("start");

    /// <summary>Raises a memory alarm (the broker stops reading from publishing connections) or clears it.</summary>
    public static Task MemoryAlarmAsync(bool on) =>
        NodeAsync("ctl", "set_vm_memory_high_watermark", on ? "0" : "0.4");

    /// <summary>Runs <c>tests/rabbitmq-node.sh</c> on the node of this run.</summary>
    private static async Task NodeAsync(string command, params string[] arguments)
    {
        var script = Environment.GetEnvironmentVariable("TWYLA_RABBITMQ_NODE_SCRIPT");
        var dir = Environment.GetEnvironmentVariable("TWYLA_RABBITMQ_DIR");
        if (string.IsNullOrEmpty(script) || string.IsNullOrEmpty(dir))
        {
            throw new InvalidOperationException(
                "This test stops and starts the broker, so it needs the private node of ./test.sh " +
                "(TWYLA_RABBITMQ_NODE_SCRIPT and TWYLA_RABBITMQ_DIR are not set). Run it with ./test.sh.");
        }

        var psi = new ProcessStartInfo("bash") { RedirectStandardError = true, RedirectStandardOutput = true };
        psi.ArgumentList.Add(script);
        psi.ArgumentList.Add(command);
        psi.ArgumentList.Add(dir);
        foreach (var argument in arguments)
        {
            psi.ArgumentList.Add(argument);
        }

        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await p.WaitForExitAsync(timeout.Token);
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmq-node.sh {command} failed ({p.ExitCode}): {await stdout}{await stderr}");
        }
    }
}
