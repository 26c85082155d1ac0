using Twyla.Streams.Transport;

namespace Twyla.Streams.Emit;

/// <summary>
/// The one publisher session that <see cref="EventBus.EmitAsync{T}(OutgoingEvent{T}, CancellationToken)"/> shares
/// between calls: opened on first use, and opened again whenever the one it holds can no longer publish.
/// </summary>
/// <remarks>
/// The rule that keeps <c>EmitAsync</c> working after a broker restart lives here and only here: a session is
/// replaced when it is not <see cref="IPublisherSession.IsOpen"/>, whatever exception reported its death (a closed
/// channel surfaces as an <see cref="EmitException"/> from the publish, as an I/O error, or not at all until the next
/// publish). A nack or an unroutable return leaves the channel open and the session in place.
/// </remarks>
internal sealed class SharedPublisher : IAsyncDisposable
{
    private readonly Func<CancellationToken, Task<IPublisherSession>> _open;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private readonly SemaphoreSlim _window;
    private readonly TimeSpan _drainGrace;
    private IPublisherSession? _session;
    private int _disposed;

    /// <param name="open">Opens a publisher session (the transport's <see cref="IEventTransport.OpenPublisherAsync"/>).</param>
    /// <param name="drainGrace">How long a replaced session keeps its channel for the publishes still waiting on it (the confirm timeout).</param>
    /// <param name="maxInFlight">How many publishes may wait for their confirm at once (<see cref="EmitSettings.MaxInFlight"/>).</param>
    public SharedPublisher(Func<CancellationToken, Task<IPublisherSession>> open, TimeSpan drainGrace, int maxInFlight)
    {
        _open = open;
        _drainGrace = drainGrace;
        _window = new SemaphoreSlim(maxInFlight, maxInFlight);
    }

    /// <summary>
    /// Publishes <paramref name="envelope"/> on <paramref name="session"/> (one <see cref="GetAsync"/> handed out) once
    /// fewer than the in-flight bound of publishes wait for their confirm: the bound an emit stage keeps with its
    /// backpressure, kept here for calls that have no stage in front of them. Waiting for room counts against
    /// <paramref name="cancellationToken"/>.
    /// </summary>
    public async Task PublishAsync(IPublisherSession session, EventEnvelope envelope, CancellationToken cancellationToken)
    {
        await _window.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await session.PublishAsync(envelope, mandatory: false, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _window.Release();
        }
    }

    /// <summary>The open session, opening a new one when there is none or the one held died.</summary>
    public async Task<IPublisherSession> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _session) is { IsOpen: true } open)
        {
            return open;
        }

        await _lock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
            if (_session is { IsOpen: true } current)
            {
                return current;
            }

            if (_session is { } dead)
            {
                _session = null;
                _ = DisposeLaterAsync(dead);
            }

            var opened = await _open(cancellationToken).ConfigureAwait(false);
            if (Volatile.Read(ref _disposed) != 0)
            {
                await opened.DisposeAsync().ConfigureAwait(false); // disposed while opening: nobody would close it
                throw new ObjectDisposedException(nameof(SharedPublisher));
            }

            Volatile.Write(ref _session, opened);
            return opened;
        }
        finally
        {
            _lock.Release();
        }
    }

    /// <summary>After a failed publish: drops <paramref name="session"/> when it can no longer publish, so the next call opens another.</summary>
    public async Task ForgetIfDeadAsync(IPublisherSession session)
    {
        if (!session.IsOpen && Interlocked.CompareExchange(ref _session, null, session) == session)
        {
            var disposal = DisposeLaterAsync(session);
            if (_drainGrace <= TimeSpan.Zero)
            {
                await disposal.ConfigureAwait(false); // no grace: done when this returns
            }
        }
    }

    /// <summary>
    /// Disposes a session no longer handed out, once the publishes still waiting on it had their confirm timeout to
    /// finish: a session refused by the broker (a nack) may still confirm other publishes in flight, and closing its
    /// channel at once would fail them ("may not have been emitted") and make callers emit again.
    /// </summary>
    private Task DisposeLaterAsync(IPublisherSession session) =>
        Task.Delay(_drainGrace).ContinueWith(
            _ => session.DisposeAsync().AsTask(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Unwrap();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (Interlocked.Exchange(ref _session, null) is { } session)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }
}
