using Twyla.Streams.Testing;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Infrastructure;

/// <summary>A RabbitMQ node of one test class's own (see <see cref="RabbitNode"/>), for tests that stop the broker.</summary>
public sealed class PrivateBroker : IAsyncLifetime
{
    private RabbitNode? _node;

    public string Uri => Node.Uri;

    public RabbitNode Node => _node ?? throw new InvalidOperationException("The private broker did not start.");

    public Task KillAsync() => Node.KillAsync();

    public Task StartAsync() => Node.StartAsync();

    public async Task InitializeAsync() => _node = await RabbitNode.StartNewAsync("hosting-broker");

    public async Task DisposeAsync()
    {
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
    }
}
