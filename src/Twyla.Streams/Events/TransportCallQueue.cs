namespace Twyla.Streams.Events;

/// <summary>
/// Transport calls made one at a time, in the order they were asked for (a consumer session takes one call at a
/// time): the listen stage enqueues acks, rejects, drops and the stop, and starts the next when the last one finished.
/// Plain state, no Akka.
/// </summary>
internal sealed class TransportCallQueue<TCall>
{
    private readonly Queue<TCall> _calls = new();

    /// <summary>Whether a call was started and has not finished.</summary>
    public bool Running { get; private set; }

    /// <summary>Whether nothing runs and nothing waits.</summary>
    public bool IsIdle => !Running && _calls.Count == 0;

    /// <summary>The calls not started yet, oldest first.</summary>
    public IEnumerable<TCall> Waiting => _calls;

    public void Enqueue(TCall call) => _calls.Enqueue(call);

    /// <summary>Takes the next call and marks it running, unless one runs or none waits.</summary>
    public bool TryStartNext(out TCall call)
    {
        if (Running || _calls.Count == 0)
        {
            call = default!;
            return false;
        }

        call = _calls.Dequeue();
        Running = true;
        return true;
    }

    /// <summary>Marks a call running that was not queued (the final close).</summary>
    public void StartUnqueued() => Running = true;

    /// <summary>The running call finished.</summary>
    public void Completed() => Running = false;
}
