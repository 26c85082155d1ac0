using Microsoft.Extensions.Logging;

namespace Twyla.Streams.Hosting.Diagnostics;

/// <summary>
/// The hosting package's log lines, source-generated. They name events by id and name, listeners by pattern and
/// group, procedures by name and calls by correlation id, never payloads or credentials.
/// </summary>
internal static partial class HostingLog
{
    [LoggerMessage(EventId = 2001, Level = LogLevel.Debug,
        Message = "The flow serving {Procedure} answered a request whose caller no longer waits (answered already, or gave up); the answer is discarded")]
    public static partial void FlowAnswerDiscarded(this ILogger logger, string procedure);

    [LoggerMessage(EventId = 2002, Level = LogLevel.Error, Message = "The flow serving {Procedure} failed; the next request restarts it")]
    public static partial void FlowFailed(this ILogger logger, Exception cause, string procedure);

    [LoggerMessage(EventId = 2003, Level = LogLevel.Error, Message = "Procedure {Procedure} failed (correlation id {CorrelationId})")]
    public static partial void ProcedureFailed(this ILogger logger, Exception cause, string procedure, string correlationId);

    [LoggerMessage(EventId = 2004, Level = LogLevel.Error, Message = "Procedure {Procedure} returned null (correlation id {CorrelationId})")]
    public static partial void ProcedureReturnedNull(this ILogger logger, string procedure, string correlationId);

    [LoggerMessage(EventId = 2005, Level = LogLevel.Information, Message = "Twyla event bus for service {ServiceName} on RabbitMQ {Broker}, exchange {Exchange}")]
    public static partial void BusOnRabbitMq(this ILogger logger, string serviceName, string broker, string exchange);

    [LoggerMessage(EventId = 2006, Level = LogLevel.Warning,
        Message = "Twyla event bus for service {ServiceName}: no transport configured (Twyla:Transport, Twyla:Amqp:Uri or TWYLA_AMQP_HOST), " +
                  "using the in-memory transport in the Development environment; events live in this process only")]
    public static partial void BusInMemoryByDefault(this ILogger logger, string serviceName);

    [LoggerMessage(EventId = 2007, Level = LogLevel.Information, Message = "Twyla event bus for service {ServiceName} on the in-memory transport")]
    public static partial void BusInMemory(this ILogger logger, string serviceName);

    [LoggerMessage(EventId = 2008, Level = LogLevel.Warning,
        Message = "Could not declare the queue of Twyla listener {Pattern} (group {Group}) at start-up; the listener retries with backoff")]
    public static partial void DeclareFailed(this ILogger logger, Exception cause, string pattern, string group);

    [LoggerMessage(EventId = 2009, Level = LogLevel.Information,
        Message = "Twyla listener {Pattern} (group {Group}) started on {Transport}: parallelism {Parallelism}, prefetch {Prefetch}")]
    public static partial void ListenerStarted(this ILogger logger, string pattern, string group, string transport, int parallelism, int prefetch);

    [LoggerMessage(EventId = 2010, Level = LogLevel.Information, Message = "Draining {Count} Twyla listener(s)")]
    public static partial void Draining(this ILogger logger, int count);

    [LoggerMessage(EventId = 2011, Level = LogLevel.Information, Message = "Twyla listeners drained")]
    public static partial void Drained(this ILogger logger);

    [LoggerMessage(EventId = 2012, Level = LogLevel.Warning,
        Message = "Handler of {Pattern} (group {Group}) failed on event {EventId} ({EventName}), delivery {Delivery}; it will be tried again: {Reason}")]
    public static partial void HandlerFailed(this ILogger logger, string pattern, string group, string eventId, string eventName, int delivery, string reason);

    [LoggerMessage(EventId = 2013, Level = LogLevel.Error,
        Message = "Event {EventId} ({EventName}) of listener {Pattern} (group {Group}) was dead-lettered on delivery {Delivery}: {Reason}")]
    public static partial void DeadLettered(this ILogger logger, string eventId, string eventName, string pattern, string group, int delivery, string reason);

    [LoggerMessage(EventId = 2014, Level = LogLevel.Warning, Message = "Twyla listener {Pattern} (group {Group}) did not stop within its drain timeout; shutting it down")]
    public static partial void DrainTimedOut(this ILogger logger, string pattern, string group);

    [LoggerMessage(EventId = 2015, Level = LogLevel.Warning, Message = "Twyla listener {Pattern} (group {Group}) failed while draining: {Reason}")]
    public static partial void FailedWhileDraining(this ILogger logger, Exception cause, string pattern, string group, string reason);

    [LoggerMessage(EventId = 2016, Level = LogLevel.Error, Message = "Twyla listener {Pattern} (group {Group}) failed: {Reason}; restart {Restart} in {Delay}")]
    public static partial void ListenerFailed(this ILogger logger, Exception? cause, string pattern, string group, string? reason, int restart, TimeSpan delay);

    [LoggerMessage(EventId = 2017, Level = LogLevel.Information, Message = "Twyla listener {Pattern} (group {Group}) stopped")]
    public static partial void ListenerStopped(this ILogger logger, string pattern, string group);
}
