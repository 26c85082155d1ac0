using System.Diagnostics;

namespace Twyla.Streams.Testing;

/// <summary>
/// A RabbitMQ node of its own (<c>tests/rabbitmq-node.sh</c> in a folder of its own), for tests that stop the broker
/// or raise alarms on it: the node that <c>./test.sh</c> shares with every test project (they run in parallel) keeps
/// running undisturbed. Linked into the test projects that need it.
/// </summary>
public sealed class RabbitNode : IAsyncDisposable
{
    private readonly bool _owned;

    private RabbitNode(string dir, string uri, bool owned)
    {
        Dir = dir;
        Uri = uri;
        _owned = owned;
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
                return await OpenAsync(dir, owned: true);
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                await StopAndDeleteAsync(dir);
            }
        }
    }

    /// <summary>
    /// The node <c>./test.sh</c> shares with every test project: for faults that touch only what a test owns (a user of
    /// its own, a queue of its own, a refused TLS handshake). Never stopped, killed or alarmed; disposing it does nothing.
    /// </summary>
    public static RabbitNode Shared =>
        new(
            Environment.GetEnvironmentVariable("TWYLA_RABBITMQ_DIR") is { Length: > 0 } dir
                ? dir
                : throw new InvalidOperationException(
                    "This test needs the RabbitMQ node of ./test.sh (TWYLA_RABBITMQ_DIR is not set). Run it with ./test.sh."),
            Environment.GetEnvironmentVariable("Twyla__Amqp__Uri") ?? string.Empty,
            owned: false);

    /// <summary>A node started elsewhere (a member of a <c>RabbitCluster</c>), not stopped by <see cref="DisposeAsync"/>.</summary>
    internal static Task<RabbitNode> OpenAsync(string dir) => OpenAsync(dir, owned: false);

    /// <summary>The node's AMQPS URI (<c>amqps://guest:guest@localhost:PORT/</c>); its certificate is for <c>localhost</c> only, signed by <see cref="CaFile"/>.</summary>
    public Task<string> TlsUriAsync() => RunAsync(Dir, "tls-uri");

    /// <summary>The PEM file of the throw-away CA that signed the node's TLS certificate.</summary>
    public string CaFile => Path.Combine(Dir, "tls", "ca.pem");

    /// <summary>The node's AMQP URI with other credentials.</summary>
    public string UriFor(string user, string password) =>
        new UriBuilder(Uri) { UserName = System.Uri.EscapeDataString(user), Password = System.Uri.EscapeDataString(password) }.Uri.ToString();

    /// <summary>Runs <c>rabbitmqctl</c> against the node and returns what it printed.</summary>
    public Task<string> CtlAsync(params string[] arguments) => RunAsync(Dir, "ctl", arguments);

    /// <summary>The broker closes every client connection (as an operator or a node under maintenance does).</summary>
    public Task CloseAllConnectionsAsync() => CtlAsync("close_all_connections", "closed by the fault matrix");

    /// <summary>The broker closes every connection of <paramref name="user"/>.</summary>
    public Task CloseUserConnectionsAsync(string user) => CtlAsync("close_all_user_connections", user, "closed by the fault matrix");

    /// <summary>Deletes a queue (with its messages) under whoever consumes it.</summary>
    public Task DeleteQueueAsync(string queue) => CtlAsync("delete_queue", queue);

    /// <summary>How many consumers a queue has (0 when it does not exist).</summary>
    public async Task<int> ConsumerCountAsync(string queue)
    {
        var line = (await CtlAsync("list_queues", "--no-table-headers", "name", "consumers"))
            .Split('\n').Select(l => l.Split('\t')).FirstOrDefault(f => f.Length == 2 && f[0] == queue);
        return line is null ? 0 : int.Parse(line[1], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>Adds a user with exactly these permissions on the vhost <c>/</c> (regexes, as <c>set_permissions</c> takes them).</summary>
    public async Task AddUserAsync(string user, string password, string configure, string write, string read)
    {
        await CtlAsync("add_user", user, password);
        await SetPermissionsAsync(user, configure, write, read);
    }

    /// <summary>Sets a user's permissions on the vhost <c>/</c>.</summary>
    public Task SetPermissionsAsync(string user, string configure, string write, string read) =>
        CtlAsync("set_permissions", "-p", "/", user, configure, write, read);

    /// <summary>Revokes every permission of a user on the vhost <c>/</c> (connections already open keep what their channels cached).</summary>
    public Task ClearPermissionsAsync(string user) => CtlAsync("clear_permissions", "-p", "/", user);

    /// <summary>Deletes a user (for a test's cleanup on the shared node).</summary>
    public Task DeleteUserAsync(string user) => CtlAsync("delete_user", user);

    /// <summary><c>kill -9</c> of the node's VM.</summary>
    public Task KillAsync() => RunAsync(Dir, "kill");

    /// <summary>Starts the node again (same name, ports and data).</summary>
    public Task StartAsync() => RunAsync(Dir, "start");

    /// <summary>Raises a memory alarm (the broker stops reading from publishing connections) or clears it.</summary>
    public Task MemoryAlarmAsync(bool on) => RunAsync(Dir, "ctl", "set_vm_memory_high_watermark", on ? "0" : "0.4");

    public async ValueTask DisposeAsync()
    {
        if (_owned)
        {
            await StopAndDeleteAsync(Dir);
        }
    }

    private static async Task<RabbitNode> OpenAsync(string dir, bool owned)
    {
        var uri = (await RunAsync(dir, "uri")).Split('\n')[^1].Trim();
        return new RabbitNode(dir, uri, owned);
    }

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
