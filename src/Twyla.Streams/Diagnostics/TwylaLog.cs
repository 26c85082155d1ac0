using Microsoft.Extensions.Logging;

namespace Twyla.Streams.Diagnostics;

/// <summary>
/// The library's log lines, source-generated (no boxing, no parsing of the template per call). They name events by id
/// and name and brokers by their description, never payloads or credentials.
/// </summary>
internal static partial class TwylaLog
{
    [LoggerMessage(EventId = 1001, Level = LogLevel.Warning, Message = "RabbitMQ at {Broker} blocks the {Role} connection: {Reason}")]
    public static partial void ConnectionBlocked(this ILogger logger, string broker, object role, string reason);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "RabbitMQ at {Broker} unblocked the {Role} connection")]
    public static partial void ConnectionUnblocked(this ILogger logger, string broker, object role);

    [LoggerMessage(EventId = 1003, Level = LogLevel.Warning, Message = "The {Role} connection to RabbitMQ at {Broker} was lost: {Reason}")]
    public static partial void ConnectionLost(this ILogger logger, object role, string broker, string reason);

    [LoggerMessage(EventId = 1004, Level = LogLevel.Information, Message = "Connected to RabbitMQ at {Broker} ({Role})")]
    public static partial void Connected(this ILogger logger, string broker, object role);

    [LoggerMessage(EventId = 1005, Level = LogLevel.Warning, Message = "RabbitMQ consumer on {Queue} failed")]
    public static partial void ConsumerFailed(this ILogger logger, Exception cause, string queue);

    [LoggerMessage(EventId = 1101, Level = LogLevel.Warning, Message = "The contract of group '{Queue}' is not announced: no JSON Schema for {Type}: {Reason}")]
    public static partial void ContractNotAnnounced(this ILogger logger, Exception cause, string queue, Type type, string reason);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Could not store {What} on {Transport}: {Reason}")]
    public static partial void ContractNotStored(this ILogger logger, Exception cause, string what, string transport, string reason);

    [LoggerMessage(EventId = 1103, Level = LogLevel.Warning, Message = "Could not refresh the contracts of '{EventName}'; the pre-emit check keeps using those discovered before: {Reason}")]
    public static partial void ContractsNotRefreshed(this ILogger logger, Exception cause, string eventName, string reason);

    [LoggerMessage(EventId = 1104, Level = LogLevel.Warning, Message = "The contract log holds an announcement of group '{Group}' (listening to '{Pattern}', service '{Service}') whose hash does not match its schema; it is ignored")]
    public static partial void ContractHashMismatch(this ILogger logger, string? group, string? pattern, string? service);

    [LoggerMessage(EventId = 1105, Level = LogLevel.Warning, Message = "The pre-emit check skips group '{Group}' of service '{Service}' (listening to '{Pattern}'): its contract cannot be read ({Reason}); the group still validates the events it receives")]
    public static partial void ContractSkipped(this ILogger logger, string group, string service, string pattern, string reason);

    [LoggerMessage(EventId = 1106, Level = LogLevel.Warning, Message = "The contract log on {Transport} was deleted while this bus ran; storing the contracts of its {Groups} group(s) again")]
    public static partial void ContractLogDeleted(this ILogger logger, string transport, int groups);
}
