using System.Text.RegularExpressions;
using Twyla.Streams.Emit;
using Xunit;

namespace Twyla.Streams.IntegrationTests.Infrastructure;

/// <summary>
/// What the docs promise for a broker fault, as assertions and bounds, shared by the fault matrix (tests/README.md).
/// The bounds are for hangs and for the documented recovery time, with a tolerance for a loaded machine; none is a
/// speed assertion.
/// </summary>
internal static partial class Documented
{
    /// <summary>The confirm timeout the matrix gives its buses (RabbitMqSettings) and emit streams (EmitSettings).</summary>
    public static readonly TimeSpan ConfirmTimeout = TimeSpan.FromSeconds(3);

    /// <summary>Documented: once the broker is back, emits succeed again by themselves within this time.</summary>
    public static readonly TimeSpan Recovery = TimeSpan.FromSeconds(15);

    /// <summary>
    /// Documented for a quorum queue whose leader's node died: publishes to it are refused (nack) until the other
    /// nodes elected a new leader, seconds on an idle machine, longer when the cluster's nodes share a loaded one.
    /// </summary>
    public static readonly TimeSpan LeaderElection = TimeSpan.FromSeconds(45);

    /// <summary>Added to documented times on a 2-core machine running three test projects at once.</summary>
    public static readonly TimeSpan Tolerance = TimeSpan.FromSeconds(10);

    /// <summary>A call, stream or listener that has not ended by then hangs (which the docs rule out).</summary>
    public static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);

    /// <summary>An emit failure: <see cref="EmitException"/> whose message names the event (id and name).</summary>
    public static void EmitFailure(Exception failure, string eventName)
    {
        var emit = Assert.IsType<EmitException>(failure, exactMatch: true);
        Assert.Contains(eventName, emit.Message, StringComparison.Ordinal);
        Assert.Matches(EventId(), emit.Message);
    }

    /// <summary>
    /// An emit stream that failed before it could emit anything (its publisher could not be opened): an
    /// <see cref="EmitException"/> saying so, naming the broker; no event was taken, so none is named.
    /// </summary>
    public static void EmitStreamOpenFailure(Exception failure)
    {
        var emit = Assert.IsType<EmitException>(failure, exactMatch: true);
        Assert.StartsWith("Could not open a publisher on amqp", emit.Message, StringComparison.Ordinal);
    }

    /// <summary>A listener failure: <c>ListenException</c> naming the queue, the transport's exception inside.</summary>
    public static void ListenFailure(Exception failure, string queue)
    {
        var listen = Assert.IsType<Twyla.Streams.Events.ListenException>(failure, exactMatch: true);
        Assert.Contains(queue, listen.Message, StringComparison.Ordinal);
        Assert.NotNull(failure.InnerException);
    }

    [GeneratedRegex("[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")]
    private static partial Regex EventId();
}
