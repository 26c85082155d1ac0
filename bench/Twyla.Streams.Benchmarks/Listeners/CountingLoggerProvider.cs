using Microsoft.Extensions.Logging;

namespace Twyla.Streams.Benchmarks.Listeners;

/// <summary>
/// Counts the library's warnings and errors during the run and writes the first few to stderr: a per-listener cost
/// that does not show in the figures (a contract announcement given up, a listener restarting) shows here.
/// </summary>
internal sealed class CountingLoggerProvider : ILoggerProvider
{
    private const int Shown = 5;
    private int _count;

    public int Count => Volatile.Read(ref _count);

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

            if (Interlocked.Increment(ref provider._count) <= Shown)
            {
                Console.Error.WriteLine($"[{DateTime.UtcNow:HH:mm:ss}] library {logLevel} ({category}): {formatter(state, exception)}");
            }
        }
    }
}
