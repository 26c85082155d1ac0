using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Twyla.Streams.Benchmarks.Listeners;

/// <summary>
/// Counts the library's warnings and errors during the run and writes the first few to stderr: a per-listener cost
/// that does not show in the figures (a contract announcement given up, a listener restarting) shows here.
/// </summary>
internal sealed class CountingLoggerProvider : ILoggerProvider
{
    private const int Shown = 5;
    private readonly ConcurrentDictionary<string, int> _byEvent = new(StringComparer.Ordinal);
    private int _count;

    public int Count => Volatile.Read(ref _count);

    /// <summary>How many of each (event id and name), for the summary line.</summary>
    public string Summary => string.Join(", ", _byEvent.OrderByDescending(e => e.Value).Select(e => $"{e.Key} ×{e.Value}"));

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CountingLoggerProvider provider, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Warning;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }

            provider._byEvent.AddOrUpdate($"{eventId.Id} {eventId.Name}", 1, (_, n) => n + 1);
            if (Interlocked.Increment(ref provider._count) <= Shown)
            {
                Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] library {logLevel} ({category}): {formatter(state, exception)}");
            }
        }
    }
}
