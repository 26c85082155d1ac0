using System.Diagnostics;
using System.Globalization;
using Twyla.Streams.Benchmarks.Events;

namespace Twyla.Streams.Benchmarks.Latency;

/// <summary>
/// Records, for each event of a round, the time from its event time (when the schedule said it should be sent) to the
/// start of its handler: one slot per event, in <see cref="Stopwatch"/> ticks, read at the end (sorted, so every
/// percentile is exact). Which event a handler got is read from the payload (<see cref="BookingConfirmed.BookingId"/>
/// carries its index), so every side carries the same payload and nothing else.
/// </summary>
internal sealed class LatencyRecorder
{
    private readonly OpenLoopSchedule _schedule;
    private readonly long[] _latency;
    private readonly TaskCompletionSource<long> _allHandled = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _handled;

    public LatencyRecorder(OpenLoopSchedule schedule)
    {
        _schedule = schedule;
        _latency = new long[schedule.Count];
    }

    /// <summary>Completes when every event of the schedule was handled (with the time of the last), or fails with the first failure.</summary>
    public Task<long> AllHandled => _allHandled.Task;

    /// <summary>Stopwatch ticks from each event's due time to the start of its handler.</summary>
    public IReadOnlyList<long> Latencies => _latency;

    /// <summary>Called first thing in a handler.</summary>
    public void Handled(BookingConfirmed payload)
    {
        var now = Stopwatch.GetTimestamp();
        var index = IndexOf(payload);
        _latency[index] = now - _schedule.DueAt(index);
        if (Interlocked.Increment(ref _handled) == _latency.Length)
        {
            _allHandled.TrySetResult(now);
        }
    }

    public void Fail(Exception e) => _allHandled.TrySetException(e);

    /// <summary>The event's index in the schedule: the number <see cref="BookingConfirmed.Sample"/> put into the booking id.</summary>
    private static int IndexOf(BookingConfirmed payload) =>
        int.Parse(payload.BookingId.AsSpan(payload.BookingId.LastIndexOf('-') + 1), NumberStyles.None, CultureInfo.InvariantCulture);
}
