namespace Twyla.Streams.Events;

/// <summary>How an event was settled.</summary>
public enum SettleKind
{
    /// <summary>Done: the broker forgets the event.</summary>
    Ack = 0,

    /// <summary>Try again: the event goes back to its queue and is delivered again (redelivered flag set).</summary>
    Reject = 1,

    /// <summary>Give up: the event goes to the listener's dead-letter queue with a reason.</summary>
    Drop = 2,
}
