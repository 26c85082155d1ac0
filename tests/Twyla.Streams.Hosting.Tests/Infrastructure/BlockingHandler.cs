using Twyla.Streams.Events;

namespace Twyla.Streams.Hosting.Tests.Infrastructure;

/// <summary>A listener handler that records the events it started and finished, and holds every one until released.</summary>
public sealed class BlockingHandler
{
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Recorder<int> Started { get; } = new();

    public Recorder<int> Completed { get; } = new();

    public void Release() => _release.TrySetResult();

    public async Task HandleAsync(Event<Booking> e)
    {
        Started.Record(e.Payload.N);
        await _release.Task;
        Completed.Record(e.Payload.N);
    }
}
