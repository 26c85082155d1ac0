using System.CommandLine;
using RabbitMQ.Client.Exceptions;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Cli;

/// <summary>
/// <c>twyla topology [--event NAME] [--group GROUP]</c>: each listener group's queue with its message and consumer counts
/// and its dead letters. The groups are those that announced their contracts (filtered by --event and --group); with
/// both --event and --group, exactly the groups named (every --event with every --group), announced or not.
/// </summary>
internal static class TopologyCommand
{
    /// <summary>RabbitMQ's reply code for a queue that does not exist.</summary>
    private const int NotFound = 404;

    public static Command Create(CliContext context)
    {
        var events = new Option<string[]>("--event") { Description = "An event name or pattern: only the groups with this pattern or receiving this event; repeat for more.", AllowMultipleArgumentsPerToken = false };
        var groups = new Option<string[]>("--group") { Description = "A listener group: only groups of this name; repeat for more. With --event, exactly the groups named, announced or not.", };
        var command = new Command("topology", "Show listener groups (those that announced a contract, or those named): their queues, message and consumer counts, dead letters.") { events, groups };
        TwylaCommandLine.SetBrokerAction(command, context, async (run, cancellationToken) =>
        {
            var patterns = run.Parse.GetValue(events) ?? [];
            var names = run.Parse.GetValue(groups) ?? [];
            var topologies = patterns.Length > 0 && names.Length > 0
                ? [.. patterns.SelectMany(pattern => names.Select(group => (pattern, group)))]
                : await AnnouncedAsync(run.Broker, patterns, names, cancellationToken).ConfigureAwait(false);
            var rows = new List<GroupQueue>();
            foreach (var (pattern, group) in topologies)
            {
                rows.Add(await InspectAsync(run.Broker, ListenerTopology.Create(pattern, group, QueueType.Classic), cancellationToken).ConfigureAwait(false));
            }

            run.Output.Write(rows, () =>
            {
                if (rows.Count == 0)
                {
                    return "No listener group announced a contract" + (patterns.Length + names.Length > 0 ? " that matches --event/--group" : "") +
                        " (name groups with --event and --group to look at them anyway).\n";
                }

                var table = new Table("EVENT", "GROUP", "QUEUE", "MESSAGES", "CONSUMERS", "DEAD LETTERS");
                foreach (var row in rows)
                {
                    table.Add(row.Event, row.Group, row.Queue,
                        row.Exists ? Output.Number(row.Messages) : "(no queue)",
                        row.Exists ? Output.Number(row.Consumers) : "-",
                        Output.Number(row.DeadLetters));
                }

                return table.ToString();
            });
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>
    /// The (pattern, group) of every group that announced a contract, once each, keeping those whose pattern is one of
    /// <paramref name="patterns"/> or receives it as an event name (when any), and whose name is one of <paramref name="names"/> (when any).
    /// </summary>
    private static async Task<IReadOnlyList<(string Pattern, string Group)>> AnnouncedAsync(
        Broker broker, string[] patterns, string[] names, CancellationToken cancellationToken)
    {
        var announced = await broker.Bus.DiscoverGroupContractsAsync(cancellationToken).ConfigureAwait(false);
        return [.. announced
            .Where(g => patterns.Length == 0 || patterns.Any(p => p == g.Pattern || (EventName.IsValid(p) && EventName.Matches(g.Pattern, p))))
            .Where(g => names.Length == 0 || names.Contains(g.Group, StringComparer.Ordinal))
            .Select(g => (g.Pattern, g.Group))
            .Distinct()];
    }

    private static async Task<GroupQueue> InspectAsync(Broker broker, ListenerTopology topology, CancellationToken cancellationToken)
    {
        var deadLetters = await broker.Bus.CountDeadLettersAsync(topology.Pattern, topology.Group, cancellationToken).ConfigureAwait(false);
        // A passive declare of a queue that does not exist closes its channel: one channel per look.
        var channel = await broker.OpenChannelAsync(cancellationToken).ConfigureAwait(false);
        await using (channel.ConfigureAwait(false))
        {
            try
            {
                var queue = await channel.QueueDeclarePassiveAsync(topology.QueueName, cancellationToken).ConfigureAwait(false);
                return new GroupQueue(topology.Pattern, topology.Group, topology.QueueName, true, queue.MessageCount, queue.ConsumerCount, deadLetters);
            }
            catch (OperationInterruptedException e) when (e.ShutdownReason?.ReplyCode == NotFound)
            {
                return new GroupQueue(topology.Pattern, topology.Group, topology.QueueName, false, 0, 0, deadLetters);
            }
        }
    }

    private sealed record GroupQueue(string Event, string Group, string Queue, bool Exists, long Messages, long Consumers, long DeadLetters);
}
