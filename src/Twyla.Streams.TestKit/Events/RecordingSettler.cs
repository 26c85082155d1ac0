using Twyla.Streams.Events;

namespace Twyla.Streams.TestKit;

/// <summary>Stands in for a listener: records the first settlement of one hand-built event and completes it at once.</summary>
internal sealed class RecordingSettler : IEventSettler
{
    private readonly TaskCompletionSource<EventSettlement> _settled = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<EventSettlement> Settled => _settled.Task;

    public Task SettleAsync(ulong tag, SettleKind kind, string? reason)
    {
        _settled.TrySetResult(new EventSettlement(kind, kind == SettleKind.Ack ? null : reason));
        return Task.CompletedTask;
    }
}
