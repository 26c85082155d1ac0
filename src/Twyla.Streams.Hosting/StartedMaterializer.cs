using Akka.Actor;
using Akka.Streams;

namespace Twyla.Streams.Hosting;

/// <summary>
/// A materializer whose stream supervisor runs before the first graph is materialized on it.
/// </summary>
/// <remarks>
/// A materializer's supervisor actor (for the system's shared materializer, created on its first use) starts
/// asynchronously. Until it has, Akka.NET materializes a graph with a blocking ask to that supervisor, on the caller's
/// thread, for up to <c>akka.actor.creation-timeout</c> (20 s by default). When many thread-pool threads arrive at once
/// (200 RPC callers of a procedure served by a flow, the first one materializing it while the others wait for it),
/// the pool runs out of threads, the supervisor cannot start, and the process stalls until the ask times out. Waiting
/// for the supervisor without blocking a thread avoids that: graphs materialized afterwards attach their actor to the
/// running supervisor directly.
/// </remarks>
internal sealed class StartedMaterializer(string namePrefix)
{
    private readonly Lock _gate = new();
    private Task<IMaterializer>? _started;

    /// <summary>
    /// The materializer on the actor system, once its supervisor answered (no thread blocked meanwhile);
    /// started on the first call, and again on the next call after a start that failed.
    /// </summary>
    /// <param name="system">Gives the actor system (called only when the materializer is started).</param>
    /// <returns>The materializer, once it can materialize without blocking.</returns>
    /// <exception cref="TimeoutException">The supervisor did not start within the system's creation timeout.</exception>
    public Task<IMaterializer> GetAsync(Func<ActorSystem> system)
    {
        if (Volatile.Read(ref _started) is { IsCompletedSuccessfully: true } started)
        {
            return started;
        }

        lock (_gate)
        {
            if (_started is not { IsFaulted: false })
            {
                _started = StartAsync(system());
            }

            return _started;
        }
    }

    private async Task<IMaterializer> StartAsync(ActorSystem system)
    {
        var materializer = system.Materializer(namePrefix: namePrefix);
        var timeout = system.Settings.CreationTimeout;
        try
        {
            await materializer.Supervisor.Ask<ActorIdentity>(new Identify(null), timeout).ConfigureAwait(false);
        }
        catch (AskTimeoutException e)
        {
            throw new TimeoutException(
                $"The stream supervisor of the '{namePrefix}' materializer did not start within {timeout.TotalSeconds:0.#} s (akka.actor.creation-timeout).", e);
        }

        return materializer;
    }
}
