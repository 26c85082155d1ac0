using System.CommandLine;
using System.Text.Json;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Cli;

/// <summary><c>twyla dead-letters list|show|replay|purge --event NAME --group GROUP</c>, on the bus's dead-letter operations.</summary>
internal static class DeadLetterCommands
{
    /// <summary>How many letters <c>show</c> and <c>replay ID</c> read at a time while looking for an id.</summary>
    private const int ScanPage = 1000;

    public static Command Create(CliContext context)
    {
        var command = new Command("dead-letters", "List, show, replay and purge the dead letters of a listener group.");
        command.Subcommands.Add(List(context));
        command.Subcommands.Add(Show(context));
        command.Subcommands.Add(Replay(context));
        command.Subcommands.Add(Purge(context));
        return command;
    }

    private static (Option<string> Event, Option<string> Group) GroupOptions() =>
    (
        new Option<string>("--event") { Description = "The event name or pattern the group listens to (booking.created, booking.*).", Required = true },
        new Option<string>("--group") { Description = "The listener group (billing).", Required = true }
    );

    private static Command List(CliContext context)
    {
        var (eventOption, groupOption) = GroupOptions();
        var skip = new Option<int>("--skip") { Description = "How many of the oldest letters to pass over.", DefaultValueFactory = _ => 0 };
        var take = new Option<int>("--take") { Description = "The page size, 1 to 10000.", DefaultValueFactory = _ => 50 };
        var command = new Command("list", "List a page of dead letters, oldest first: id, time, reason, delivery count.") { eventOption, groupOption, skip, take };
        TwylaCommandLine.SetBrokerAction(command, context, async (run, cancellationToken) =>
        {
            var (pattern, group) = (run.Parse.GetRequiredValue(eventOption), run.Parse.GetRequiredValue(groupOption));
            var (from, size) = (run.Parse.GetValue(skip), run.Parse.GetValue(take));
            var queue = QueueName(pattern, group);
            var total = await run.Broker.Bus.CountDeadLettersAsync(pattern, group, cancellationToken).ConfigureAwait(false);
            var page = await run.Broker.Bus.ListDeadLettersAsync(pattern, group, from, size, cancellationToken).ConfigureAwait(false);
            run.Output.Write(
                new { queue, total, skip = from, take = size, items = page.Select(View) },
                () =>
                {
                    if (page.Count == 0)
                    {
                        return $"No dead letters in {queue}{(total > 0 ? $" after the first {from} ({total} in all)" : "")}.\n";
                    }

                    var table = new Table("ID", "DEAD-LETTERED", "DELIVERIES", "REPLAYS", "EVENT", "REASON");
                    foreach (var letter in page)
                    {
                        table.Add(letter.EventId ?? "-", Output.Time(letter.DeadLetteredAt), Output.Number(letter.DeliveryCount),
                            Output.Number(letter.ReplayCount), letter.Metadata?.Name ?? letter.RoutingKey, letter.Reason);
                    }

                    var next = from + page.Count < total ? $" (next page: --skip {from + page.Count})" : "";
                    return $"{table}{from + 1}-{from + page.Count} of {total} dead letters in {queue}{next}\n";
                });
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show(CliContext context)
    {
        var (eventOption, groupOption) = GroupOptions();
        var id = new Argument<string>("id") { Description = "The event id of the dead letter." };
        var command = new Command("show", "Show one dead letter: its metadata, reason, counts and body.") { id, eventOption, groupOption };
        TwylaCommandLine.SetBrokerAction(command, context, async (run, cancellationToken) =>
        {
            var (pattern, group, eventId) = (run.Parse.GetRequiredValue(eventOption), run.Parse.GetRequiredValue(groupOption), run.Parse.GetRequiredValue(id));
            var letter = await FindAsync(run, pattern, group, eventId, cancellationToken).ConfigureAwait(false)
                ?? throw new CliException(ExitCodes.NotFound, $"No dead letter {eventId} in {QueueName(pattern, group)}.");
            run.Output.Write(View(letter), () =>
            {
                var fields = new Table("FIELD", "VALUE")
                    .Add("id", letter.EventId ?? "-")
                    .Add("event", letter.Metadata?.Name ?? "-")
                    .Add("routing key", letter.RoutingKey)
                    .Add("time", Output.Time(letter.Metadata?.Time))
                    .Add("source", letter.Metadata?.Source ?? "-")
                    .Add("correlation id", letter.Metadata?.CorrelationId ?? "-")
                    .Add("causation id", letter.Metadata?.CausationId is { Length: > 0 } cause ? cause : "-")
                    .Add("dead-lettered", Output.Time(letter.DeadLetteredAt))
                    .Add("deliveries", Output.Number(letter.DeliveryCount))
                    .Add("replays", Output.Number(letter.ReplayCount));
                return $"{fields}reason: {letter.Reason}\nbody:\n{PrettyBody(letter.Body)}\n";
            });
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Replay(CliContext context)
    {
        var (eventOption, groupOption) = GroupOptions();
        var id = new Argument<string?>("id") { Description = "Replay the dead letter of this event id.", Arity = ArgumentArity.ZeroOrOne };
        var reason = new Option<string?>("--reason-contains") { Description = "Replay the letters whose reason contains this text (case-insensitive)." };
        var all = new Option<bool>("--all") { Description = "Replay every dead letter of the group." };
        var command = new Command("replay", "Send dead letters back to the group's queue: one by id, those matching --reason-contains, or --all.")
        {
            id, eventOption, groupOption, reason, all,
        };
        command.Validators.Add(result =>
        {
            var chosen = (result.GetValue(id) is not null ? 1 : 0) + (result.GetValue(reason) is not null ? 1 : 0) + (result.GetValue(all) ? 1 : 0);
            if (chosen != 1)
            {
                result.AddError("Say which letters to replay: an id, --reason-contains TEXT or --all (one of them).");
            }
        });
        TwylaCommandLine.SetBrokerAction(command, context, async (run, cancellationToken) =>
        {
            var (pattern, group) = (run.Parse.GetRequiredValue(eventOption), run.Parse.GetRequiredValue(groupOption));
            var queue = QueueName(pattern, group);
            var bus = run.Broker.Bus;
            int replayed;
            if (run.Parse.GetValue(id) is { } eventId)
            {
                replayed = await bus.ReplayDeadLetterAsync(pattern, group, eventId, cancellationToken).ConfigureAwait(false)
                    ? 1
                    : throw new CliException(ExitCodes.NotFound, $"No dead letter {eventId} in {queue}.");
            }
            else if (run.Parse.GetValue(reason) is { } text)
            {
                replayed = await bus.ReplayDeadLettersAsync(
                    pattern, group, letter => letter.Reason.Contains(text, StringComparison.OrdinalIgnoreCase), cancellationToken).ConfigureAwait(false);
            }
            else
            {
                replayed = await bus.ReplayDeadLettersAsync(pattern, group, cancellationToken).ConfigureAwait(false);
            }

            var left = await bus.CountDeadLettersAsync(pattern, group, cancellationToken).ConfigureAwait(false);
            run.Output.Write(
                new { queue, replayed, left },
                () => $"Replayed {Letters(replayed)} of {queue} to {QueueOf(pattern, group)}; {left} left.\n");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Purge(CliContext context)
    {
        var (eventOption, groupOption) = GroupOptions();
        var yes = new Option<bool>("--yes", "-y") { Description = "Do not ask for confirmation." };
        var command = new Command("purge", "Delete every dead letter of the group (asks first unless --yes).") { eventOption, groupOption, yes };
        TwylaCommandLine.SetBrokerAction(command, context, async (run, cancellationToken) =>
        {
            var (pattern, group) = (run.Parse.GetRequiredValue(eventOption), run.Parse.GetRequiredValue(groupOption));
            var queue = QueueName(pattern, group);
            var count = await run.Broker.Bus.CountDeadLettersAsync(pattern, group, cancellationToken).ConfigureAwait(false);
            if (count > 0 && !run.Parse.GetValue(yes))
            {
                // The question goes to standard error, so --json output stays JSON.
                await run.Output.Error.WriteAsync($"Delete the {Letters(count)} of {queue}? This cannot be undone. [y/N] ").ConfigureAwait(false);
                var answer = await run.Input.ReadLineAsync(cancellationToken).ConfigureAwait(false);
                if (answer?.Trim().ToUpperInvariant() is not ("Y" or "YES"))
                {
                    throw new CliException(ExitCodes.NotConfirmed, $"Not purged: {queue} keeps its {Letters(count)} (--yes skips the question).");
                }
            }

            var purged = count > 0 ? await run.Broker.Bus.PurgeDeadLettersAsync(pattern, group, cancellationToken).ConfigureAwait(false) : 0;
            run.Output.Write(new { queue, purged }, () => $"Purged {Letters(purged)} of {queue}.\n");
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The dead letter of <paramref name="eventId"/>, read page by page; null when there is none.</summary>
    private static async Task<DeadLetter?> FindAsync(Run run, string pattern, string group, string eventId, CancellationToken cancellationToken)
    {
        for (var skip = 0; ; skip += ScanPage)
        {
            var page = await run.Broker.Bus.ListDeadLettersAsync(pattern, group, skip, ScanPage, cancellationToken).ConfigureAwait(false);
            if (page.FirstOrDefault(l => l.EventId == eventId) is { } found)
            {
                return found;
            }

            if (page.Count < ScanPage)
            {
                return null;
            }
        }
    }

    private static string Letters(long count) => count == 1 ? "1 dead letter" : $"{count} dead letters";

    /// <summary>The group's queue and dead-letter queue, named by the library's rule (and checked by it).</summary>
    private static ListenerTopology Topology(string pattern, string group) => ListenerTopology.Create(pattern, group, QueueType.Classic);

    private static string QueueName(string pattern, string group) => Topology(pattern, group).DeadLetterQueueName;

    private static string QueueOf(string pattern, string group) => Topology(pattern, group).QueueName;

    private static object View(DeadLetter letter) => new
    {
        id = letter.EventId,
        @event = letter.Metadata?.Name,
        letter.RoutingKey,
        letter.Reason,
        letter.DeadLetteredAt,
        letter.DeliveryCount,
        letter.ReplayCount,
        letter.Metadata,
        letter.Body,
    };

    private static string PrettyBody(string body)
    {
        try
        {
            using var doc = JsonDocument.Parse(body);
            return JsonSerializer.Serialize(doc.RootElement, PrettyJson);
        }
        catch (JsonException)
        {
            return body;
        }
    }

    private static readonly JsonSerializerOptions PrettyJson = new() { WriteIndented = true };
}
