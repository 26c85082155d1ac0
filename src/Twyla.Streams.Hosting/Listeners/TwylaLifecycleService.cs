using Microsoft.Extensions.Hosting;

namespace Twyla.Streams.Hosting.Listeners;

/// <summary>
/// Drains the hosted listeners when the host starts stopping. <see cref="IHostedLifecycleService.StoppingAsync"/> runs
/// before any hosted service's <see cref="IHostedService.StopAsync"/>, so before Akka.Hosting runs CoordinatedShutdown
/// and terminates the actor system, whatever the order the services were registered in. The host's shutdown timeout
/// (the token) turns the drain into an immediate shutdown. <see cref="IHostedLifecycleService.StartedAsync"/> runs after
/// every hosted service's <see cref="IHostedService.StartAsync"/> (Akka.Hosting's, which runs the listeners' start-up
/// tasks): it waits until every listener's queue was declared and its graph started, so the host counts as started only
/// then, while the declarations themselves ran concurrently.
/// </summary>
internal sealed class TwylaLifecycleService(TwylaListeners listeners) : IHostedLifecycleService
{
    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => listeners.WhenStartedAsync().WaitAsync(cancellationToken);

    public Task StoppingAsync(CancellationToken cancellationToken) => listeners.DrainAsync(cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
