using System.Diagnostics;

namespace Twyla.Streams.Testing;

/// <summary>
/// A RabbitMQ node of its own (<c>tests/rabbitmq-node.sh</c> in a folder of its own), for tests that stop the broker
/// or raise alarms on it: the node that <c>./test.sh</c> shares with every test project (they run in parallel) keeps
/// running undisturbed. Linked into the test projects that need it.
/// </summary>
public sealed class RabbitNode : IAsyncDisposable
{
    private RabbitNode(string dir, string uri)
    {
        Dir = dir;
        Uri = uri;
    }

    /// <summary>The node's folder (data, logs, <c>node.env</c>).</summary>
    public string Dir { get; }

    /// <summary>The node's AMQP URI.</summary>
    public string Uri { get; }

    /// <summary>The node script of <c>./test.sh</c>.</summary>
    public static string Script =>
        Environment.GetEnvironmentVariable("TWYLA_RABBITMQ_NODE_SCRIPT") is { Length: > 0 } script
            ? script
            : throw new InvalidOperationException(
                "This test needs a RabbitMQ node of its own, started with the node script of ./test.sh " +
                "(TWYLA_RABBITMQ_NODE_SCRIPT is not set). Run it with ./test.sh.");

    /// <summary>Starts a fresh node; a random port pick the node cannot use fails its start, so a fresh folder gets another try.</summary>
    public static async Task<RabbitNode> StartNewAsync(string purpose)
    {
        for (var attempt = 1; ; attempt++)
        {
            var dir = Path.Combine(Path.GetTempPath(), $"twyla-{purpose}-{Guid.NewGuid():N}"[..(purpose.Length + 15)]);
            try
            {
                await RunAsync(dir, "init");
                await RunAsync(dir, "start");
                var uri = (await RunAsync(dir, "uri")).Split('\n')[^1].Trim();
                return new RabbitNode(dir, uri);
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                await StopAndDeleteAsync(dir);
            }
        }
    }

    /// <summary><c>kill -9</c> of the node's VM.</summary>
    public Task KillAsync() => RunAsync(Dir, "kill");

    /// <summary>Starts the node again (same name, ports and data).</summary>
    public Task StartAsync() => RunAsync(Dir, "start");

    /// <summary>Raises a memory alarm (the broker stops reading from publishing connections) or clears it.</summary>
    public Task MemoryAlarmAsync(bool on) => RunAsync(Dir, "ctl", "set_vm_memory_high_watermark", on ? "0" : "0.4");

    public async ValueTask DisposeAsync() => await StopAndDeleteAsync(Dir);

    /// <summary>
    /// Runs <c>rabbitmq-node.sh command dir args</c> and returns what it printed. Its output goes to a file, not a pipe:
    /// <c>start</c> leaves a process behind that keeps the script's stdout open, so reading a pipe to its end would hang.
    /// </summary>
    public static async Task<string> RunAsync(string dir, string command, params string[] arguments)
    {
        var output = Path.GetTempFileName();
        try
        {
            var psi = new ProcessStartInfo("bash") { RedirectStandardInput = true };
            psi.ArgumentList.Add("-c");
            psi.ArgumentList.Add("out=\"$1\"; shift; \"$@\" >\"$out\" 2>&1 </dev/null");
            psi.ArgumentList.Add("rabbitmq-node");
            psi.ArgumentList.Add(output);
            psi.ArgumentList.Add(Script);
            psi.ArgumentList.Add(command);
            psi.ArgumentList.Add(dir);
            foreach (var argument in arguments)
            {
                psi.ArgumentList.Add(argument);
            }

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

    private static async Task StopAndDeleteAsync(string dir)
    {
        if (!Directory.Exists(dir))
        {
            return;
        }

        var pidFile = Path.Combine(dir, "node.pid");
        var pid = File.Exists(pidFile) && int.TryParse(await File.ReadAllTextAsync(pidFile), out var p) ? p : 0;
        try
        {
            await RunAsync(dir, "stop");
            await WaitForExitAsync(pid); // the node removes its pid file when it starts halting, not when it is gone
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task WaitForExitAsync(int pid)
    {
        if (pid == 0)
        {
            return;
        }

        try
        {
            using var process = Process.GetProcessById(pid);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (ArgumentException)
        {
            // already gone
        }
    }
}
