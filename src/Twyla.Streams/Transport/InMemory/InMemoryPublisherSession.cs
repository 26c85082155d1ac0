namespace Twyla.Streams.Transport.InMemory;

/// <summary>
/// Publishes into the <see cref="InMemoryBroker"/>. A publish is confirmed as soon as every bound queue holds the
/// event; consumers get it on their own dispatch loops, never inline.
/// </summary>
internal sealed class InMemoryPublisherSession : IPublisherSession
{
    private readonly InMemoryBroker _broker;
    private volatile bool _disposed;

    public InMemoryPublisherSession(InMemoryBroker broker)
    {
        _broker = broker;
    }

    public bool IsOpen => !_disposed && !_broker.IsDisposed;

    public Task PublishAsync(EventEnvelope envelope, bool mandatory, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(envelope);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled(cancellationToken);
        }

        if (_disposed)
        {
            return Task.FromException(new ObjectDisposedException(
                nameof(InMemoryPublisherSession), "The in-memory publisher session was disposed; open a new one to publish."));
        }

        var failure = _broker.Publish(envelope, mandatory);
        return failure is null ? Task.CompletedTask : Task.FromException(failure);
    }

    public ValueTask DisposeAsync()
    {
        _disposed = true;
        return ValueTask.CompletedTask;
    }
}
