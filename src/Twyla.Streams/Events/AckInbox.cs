using System.Collections.Concurrent;

namespace Twyla.Streams.Events;

/// <summary>
/// The listen stage's fast path for acks: handlers on any thread record a tag and are done; the stage is woken once
/// per burst (not once per ack) and drains what was recorded on its own turn. Plain state, no Akka.
/// </summary>
internal sealed class AckInbox
{
    private readonly ConcurrentQueue<ulong> _tags = new();
    private int _wakeScheduled;
    private volatile bool _open;

    /// <summary>Whether acks may take the fast path (the listener runs); otherwise they go through the stage.</summary>
    public bool IsOpen
    {
        get => _open;
        set => _open = value;
    }

    /// <summary>Records an ack. Returns true when the caller must wake the stage (the first ack of a burst).</summary>
    public bool Record(ulong tag)
    {
        _tags.Enqueue(tag);
        return Interlocked.Exchange(ref _wakeScheduled, 1) == 0;
    }

    /// <summary>Hands every recorded tag to <paramref name="acked"/>, oldest first (on the stage's turn).</summary>
    public void Drain(Action<ulong> acked)
    {
        // Reset before draining: an ack recorded after the reset schedules the next wake itself.
        Volatile.Write(ref _wakeScheduled, 0);
        while (_tags.TryDequeue(out var tag))
        {
            acked(tag);
        }
    }
}
