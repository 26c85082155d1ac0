using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams;

/// <summary>The dead letters of a listener group: count, list, replay, purge.</summary>
public sealed partial class EventBus
{
    /// <summary>Reads (without removing) up to 1,000 dead letters of a listener group's queue, oldest first.</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <returns>The dead letters, oldest first.</returns>
    public Task<IReadOnlyList<DeadLetter>> PeekDeadLettersAsync(string pattern, string group) =>
        ListDeadLettersAsync(pattern, group, 0, 1000, CancellationToken.None);

    /// <summary>Reads (without removing) up to 1,000 dead letters of a listener group's queue, oldest first.</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>The dead letters, oldest first.</returns>
    public Task<IReadOnlyList<DeadLetter>> PeekDeadLettersAsync(string pattern, string group, CancellationToken cancellationToken) =>
        ListDeadLettersAsync(pattern, group, 0, 1000, cancellationToken);

    /// <summary>How many dead letters a listener group has (0 when it never dead-lettered anything or was never declared).</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <returns>The number of messages in <c>{pattern}.{group}.dead-letter</c>.</returns>
    public Task<long> CountDeadLettersAsync(string pattern, string group) => CountDeadLettersAsync(pattern, group, CancellationToken.None);

    /// <summary>How many dead letters a listener group has (0 when it never dead-lettered anything or was never declared).</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>The number of messages in <c>{pattern}.{group}.dead-letter</c>.</returns>
    public Task<long> CountDeadLettersAsync(string pattern, string group, CancellationToken cancellationToken) =>
        _transport.CountDeadLettersAsync(DeadLetterTopology(pattern, group), cancellationToken);

    /// <summary>
    /// Reads one page of a listener group's dead letters without removing them, oldest first: the letters
    /// <paramref name="skip"/> to <paramref name="skip"/> + <paramref name="take"/>. On RabbitMQ a page is read by
    /// taking every letter up to its end and giving them back, so deep pages cost more than the first.
    /// </summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="skip">How many of the oldest to pass over; 0 or more.</param>
    /// <param name="take">The page size, 1 to 10,000.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>The page; fewer than <paramref name="take"/> (or none) at the end.</returns>
    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(string pattern, string group, int skip, int take, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(skip);
        if (take is < 1 or > 10_000)
        {
            throw new ArgumentOutOfRangeException(nameof(take), take, "A page of dead letters holds 1 to 10,000 letters.");
        }

        return _transport.ListDeadLettersAsync(DeadLetterTopology(pattern, group), skip, take, cancellationToken);
    }

    /// <summary>
    /// Replays every dead letter of a listener group: each goes back to the group's queue (to its end) as a first
    /// delivery, with its id, correlation and causation ids and payload unchanged and its
    /// <see cref="DeadLetter.ReplayCount"/> one higher. The group's queue must exist (a listener declared it).
    /// </summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="cancellationToken">Gives up; what was replayed until then stays replayed.</param>
    /// <returns>How many were replayed.</returns>
    public Task<int> ReplayDeadLettersAsync(string pattern, string group, CancellationToken cancellationToken) =>
        ReplayDeadLettersAsync(pattern, group, static _ => true, cancellationToken);

    /// <summary>
    /// Replays the dead letters of a listener group that <paramref name="filter"/> accepts (see
    /// <see cref="ReplayDeadLettersAsync(string, string, CancellationToken)"/>); the others stay, in their order.
    /// </summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="filter">Which letters to replay, e.g. by <see cref="DeadLetter.Reason"/> or <see cref="DeadLetter.EventId"/>.</param>
    /// <param name="cancellationToken">Gives up; what was replayed until then stays replayed.</param>
    /// <returns>How many were replayed.</returns>
    public Task<int> ReplayDeadLettersAsync(string pattern, string group, Func<DeadLetter, bool> filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return _transport.ReplayDeadLettersAsync(DeadLetterTopology(pattern, group), filter, cancellationToken);
    }

    /// <summary>Replays the dead letter of the event with id <paramref name="eventId"/> (every copy of it).</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="eventId">The event's id.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>Whether a dead letter with that id was found and replayed.</returns>
    public async Task<bool> ReplayDeadLetterAsync(string pattern, string group, string eventId, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(eventId);
        var replayed = await ReplayDeadLettersAsync(
            pattern, group, letter => string.Equals(letter.EventId, eventId, StringComparison.Ordinal), cancellationToken).ConfigureAwait(false);
        return replayed > 0;
    }

    /// <summary>Deletes every dead letter of a listener group.</summary>
    /// <param name="pattern">The pattern the group listens to.</param>
    /// <param name="group">The listener group.</param>
    /// <param name="cancellationToken">Gives up waiting for the broker.</param>
    /// <returns>How many were deleted.</returns>
    public Task<long> PurgeDeadLettersAsync(string pattern, string group, CancellationToken cancellationToken) =>
        _transport.PurgeDeadLettersAsync(DeadLetterTopology(pattern, group), cancellationToken);

    /// <summary>The names of a group's queues; its queue type and retry delays do not matter to its dead letters.</summary>
    private static ListenerTopology DeadLetterTopology(string pattern, string group) =>
        ListenerTopology.Create(pattern, group, QueueType.Classic);
}
