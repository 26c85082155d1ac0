using Xunit;

namespace Twyla.Streams.Hosting.Tests.Infrastructure;

/// <summary>
/// A RabbitMQ node of one test class's own (started with <c>tests/rabbitmq-node.sh</c> in a folder of its own), for
/// tests that stop the broker: the node that <c>./test.sh</c> shares with every test project keeps running.
/// </summary>
public sealed class PrivateBroker : IAsyncLifetime
{
    private string _dir = string.Empty;

    public string Uri { get; private set; } = string.Empty;

    public Task KillAsync() => Broker.NodeAsync("kill", _dir);

    public Task StartAsync() => Broker.NodeAsync("start", _dir);

    public async ValueTask InitializeAsync()
    {
        // The script picks free ports at random; a pick it cannot use (a taken or out-of-range port) fails the start,
        // so a fresh folder (fresh ports) gets another try.
        for (var attempt = 1; ; attempt++)
        {
            _dir = Path.Combine(Path.GetTempPath(), "twyla-hosting-broker-" + Guid.NewGuid().ToString("N")[..8]);
            try
            {
                await Broker.NodeAsync("init", _dir);
                await StartAsync();
                Uri = (await Broker.NodeAsync("uri", _dir)).Split('\n')[^1].Trim();
                return;
            }
            catch (InvalidOperationException) when (attempt < 3)
            {
                await DisposeAsync();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!Directory.Exists(_dir))
        {
            return; // never initialized (no node script)
        }

        var pidFile = Path.Combine(_dir, "node.pid");
        var pid = File.Exists(pidFile) && int.TryParse(await File.ReadAllTextAsync(pidFile), out var p) ? p : 0;
        try
        {
            await Broker.NodeAsync("stop", _dir);
            await WaitForExitAsync(pid); // the node removes its pid file when it starts halting, not when it is gone
        }
        finally
        {
            Directory.Delete(_dir, recursive: true);
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
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (ArgumentException)
        {
            // already gone
        }
    }
}
