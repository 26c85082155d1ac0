using Twyla.Streams.Testing;
using Xunit;

namespace Twyla.Streams.IntegrationTests.Infrastructure;

/// <summary>
/// A RabbitMQ node for the tests that kill the broker or raise alarms on it (see <see cref="RabbitNode"/>): the
/// node of <c>./test.sh</c> is shared with the other test projects, which run at the same time.
/// </summary>
public sealed class PrivateNode : IAsyncLifetime
{
    private RabbitNode? _node;

    public string Uri => Node.Uri;

    public RabbitNode Node => _node ?? throw new InvalidOperationException("The private RabbitMQ node did not start.");

    public Task KillAsync() => Node.KillAsync();

    public Task StartAsync() => Node.StartAsync();

    public Task MemoryAlarmAsync(bool on) => Node.MemoryAlarmAsync(on);

    public async Task InitializeAsync() => _node = await RabbitNode.StartNewAsync("integration-broker");

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }
}
