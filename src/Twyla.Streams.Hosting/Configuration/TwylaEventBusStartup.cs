using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Twyla.Streams.Hosting.Configuration;

/// <summary>
/// Makes the <see cref="EventBus"/> as the host starts, before any hosted service runs, so a configuration that cannot
/// make one (no broker outside Development) fails the start rather than the first emit.
/// </summary>
internal sealed class TwylaEventBusStartup(IServiceProvider services) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<EventBus>();
        return Task.CompletedTask;
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
