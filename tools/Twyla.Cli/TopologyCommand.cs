using System.CommandLine;
using RabbitMQ.Client.Exceptions;
using Twyla.Streams.Transport;

namespace Twyla.Cli;

/// <summary>
/// <c>twyla topology --event NAME --group GROUP</c>: each listener group's queue with its message and consumer counts and
/// its dead letters. The groups are named on the command line (every --event with every --group).
/// </summary>
internal static class TopologyCommand
{
    /// <summary>RabbitMQ's reply code for a queue that does not exist.</summary>
    private const int NotFound = 404;

    public static Command Create(CliContext context)
    {
        var events = new Option<string[]>("--event") { Description = "An event name or pattern a group listens to; repeat for more.", Required = true, AllowMultipleArgumentsPerToken = false };
        var groups = new Option<string[]>("--group") { Description = "A listener group; repeat for more.", Required = true };
        var command = new Command("topology", "Show listener groups: their queues, message and consumer counts, dead letters.") { events, groups };
        TwylaCommandLine.SetBrokerAction(command, context, async (run, cancellationToken) =>
        {
            var rows = new List<GroupQueue>();
            foreach (var pattern in run.Parse.GetRequiredValue(events))
            {
                foreach (var group in run.Parse.GetRequiredValue(groups))
                {
                    rows.Add(await InspectAsync(run.Broker, ListenerTopology.Create(pattern, group, QueueType.Classic), cancellationToken).ConfigureAwait(false));
                }
            }

            run.Output.Write(rows, () =>
            {
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
