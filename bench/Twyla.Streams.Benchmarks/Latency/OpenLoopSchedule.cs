using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Threading.Channels;

namespace Twyla.Streams.Benchmarks.Latency;

/// <summary>
/// An open-loop schedule, so that coordinated omission cannot hide latency: event <c>i</c> is due at
/// <c>Start + i / rate</c>, whatever happened to the events before it. A dedicated thread hands each index to the side's
/// publisher when it is due; when the thread wakes late, it hands over every event that is due at once (they keep their
/// due time), and a publisher that falls behind never slows the schedule (the hand-over is an unbounded channel). How
/// late each event was handed over is recorded: that part of the latency is the harness's own.
/// </summary>
internal sealed class OpenLoopSchedule
{
    private readonly double _ticksPerEvent;
    private readonly long[] _handedOverLate;
    private long _start;

    public OpenLoopSchedule(int rate, int count)
    {
        Rate = rate;
        Count = count;
        _ticksPerEvent = (double)Stopwatch.Frequency / rate;
        _handedOverLate = new long[count];
    }

    public int Rate { get; }

    public int Count { get; }

    /// <summary>Stopwatch ticks by which each event was handed to the publisher after its due time.</summary>
    public IReadOnlyList<long> HandedOverLate => _handedOverLate;

    /// <summary>When event <paramref name="index"/> should have been sent (a <see cref="Stopwatch"/> timestamp): its event time.</summary>
    public long DueAt(int index) => Volatile.Read(ref _start) + (long)(index * _ticksPerEvent);

    /// <summary>Starts the schedule on its own thread; completes (and completes <paramref name="writer"/>) after the last event.</summary>
    public Task RunAsync(ChannelWriter<int> writer)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                Run(writer);
                done.SetResult();
            }
            catch (Exception e)
            {
                writer.TryComplete(e);
                done.SetException(e);
            }
        })
        {
            IsBackground = true,
            Name = "open-loop schedule",
        };
        thread.Start();
        return done.Task;
    }

    private void Run(ChannelWriter<int> writer)
    {
        Volatile.Write(ref _start, Stopwatch.GetTimestamp());
        var i = 0;
        while (i < Count)
        {
            var now = Stopwatch.GetTimestamp();
            for (; i < Count && DueAt(i) <= now; i++)
            {
                _handedOverLate[i] = now - DueAt(i);
                if (!writer.TryWrite(i))
                {
                    throw new InvalidOperationException("the publisher stopped taking events");
                }
            }

            if (i < Count)
            {
                SleepUntil(DueAt(i));
            }
        }

        writer.Complete();
    }

    /// <summary>
    /// Sleeps until <paramref name="timestamp"/> without spinning (the broker needs the cores): on Linux with
    /// <c>usleep</c>, which wakes within tens of microseconds; elsewhere <see cref="Thread.Sleep(int)"/>'s milliseconds.
    /// </summary>
    private static void SleepUntil(long timestamp)
    {
        var micros = (timestamp - Stopwatch.GetTimestamp()) * 1_000_000 / Stopwatch.Frequency;
        if (micros <= 0)
        {
            return;
        }

        if (OperatingSystem.IsLinux())
        {
            _ = MicroSleep((uint)Math.Min(micros, 1_000_000));
        }
        else
        {
            Thread.Sleep((int)Math.Max(1, micros / 1000));
        }
    }

    [DllImport("libc", EntryPoint = "usleep")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MicroSleep(uint microseconds);
}
