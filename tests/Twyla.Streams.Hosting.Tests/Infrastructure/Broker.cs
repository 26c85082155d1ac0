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

    /// <summary>The node script of <c>./test.sh</c> (<c>tests/rabbitmq-node.sh</c>).</summary>
    public static string NodeScript =>
        Environment.GetEnvironmentVariable("TWYLA_RABBITMQ_NODE_SCRIPT") is { Length: > 0 } script
            ? script
            : throw new InvalidOperationException(
                "This test stops and starts a broker, so it needs the node script of ./test.sh " +
                "(TWYLA_RABBITMQ_NODE_SCRIPT is not set). Run it with ./test.sh.");

    /// <summary>
    /// Runs <c>rabbitmq-node.sh command dir</c> and returns what it printed. Its output goes to a file, not a pipe:
    /// <c>start</c> leaves a process behind that keeps the script's stdout open, so reading a pipe to its end would hang.
    /// </summary>
    public static async Task<string> NodeAsync(string command, string dir)
    {
        var output = Path.GetTempFileName();
        try
        {
            var psi = new ProcessStartInfo("bash") { RedirectStandardInput = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("\"$0\" \"$1\" \"$2\" >\"$3\" 2>&1 </dev/null");
            psi.ArgumentList.Add(NodeScript);
            psi.ArgumentList.Add(command);
            psi.ArgumentList.Add(dir);
            psi.ArgumentList.Add(output);
            using var process = Process.Start(psi)!;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
            await process.WaitForExitAsync(timeout.Token);
            var printed = (await File.ReadAllTextAsync(output)).Trim();
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"rabbitmq-node.sh {command} failed ({process.ExitCode}): {printed}");
            }

            return printed;
        }
        finally
        {
            File.Delete(output);
        }
    }
}
