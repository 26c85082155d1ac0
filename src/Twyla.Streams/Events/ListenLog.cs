using Microsoft.Extensions.Logging;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Events;

/// <summary>What the listen stage logs.</summary>
internal static partial class ListenLog
{
    /// <summary>The consumer is registered.</summary>
    [LoggerMessage(Level = LogLevel.Debug, Message = "Listening on queue {Queue} ({Transport})")]
    public static partial void Listening(ILogger logger, string queue, string transport);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead-lettering event {EventId} ({EventName}) from queue {Queue}: {Reason}")]
    private static partial void DeadLetteringEvent(ILogger logger, string eventId, string eventName, string queue, string reason);

    /// <summary>A delivery that does not fit the contract goes to the dead letters.</summary>
    public static void DeadLettering(ILogger logger, TransportDelivery delivery, string queue, string reason) =>
        DeadLetteringEvent(logger, delivery.Envelope?.Metadata.Id ?? "(unknown id)", delivery.Envelope?.Metadata.Name ?? delivery.RoutingKey, queue, reason);

    /// <summary>A drain gave up waiting for the events emitted downstream.</summary>
    [LoggerMessage(Level = LogLevel.Warning, Message = "Drain of queue {Queue} timed out after {Timeout} with {Count} events unsettled; they go back to the queue")]
    public static partial void DrainTimedOut(ILogger logger, string queue, TimeSpan timeout, int count);

    /// <summary>The session's close failed (the broker requeues what is unsettled anyway).</summary>
    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the consumer of queue {Queue} failed")]
    public static partial void CloseFailed(ILogger logger, Exception error, string queue);
}
