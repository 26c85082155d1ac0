using System.Diagnostics;

namespace Twyla.Streams.Hosting.Tests.Infrastructure;

/// <summary>
/// The RabbitMQ node that <c>./test.sh</c> starts for the run (<c>Twyla__Amqp__Uri</c>, and for tests that stop the
/// broker <c>TWYLA_RABBITMQ_NODE_SCRIPT</c> and <c>TWYLA_RABBITMQ_DIR</c>). Tests never skip without one: they fail
/// and say how to get one.
/// </summary>
public static class Broker
{
    public static string Uri =>
        Environment.GetEnvironmentVariable("Twyla__Amqp__Uri") is { Length: > 0 } uri
            ? uri
            : throw new InvalidOperationException(
                "No RabbitMQ broker: the environment variable Twyla__Amqp__Uri is not set. Run the tests with ./test.sh, " +
                "which starts a private RabbitMQ node and sets it (e.g. ./test.sh --filter FullyQualifiedName~Hosting).");

    /// <summary>A group of the test's own, so tests and runs do not share queues.</summary>
    public static string UniqueGroup(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)];

    public static Task KillAsync() => NodeAsync("kill");

    public static Task StartAsync() => NodeAsync("start");

    private static async Task NodeAsync(string command)
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
        using var process = Process.Start(psi)!;
        var stderr = process.StandardError.ReadToEndAsync();
        var stdout = process.StandardOutput.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"rabbitmq-node.sh {command} failed ({process.ExitCode}): {await stdout}{await stderr}");
        }
    }
}
