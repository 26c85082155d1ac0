using System.CommandLine;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Twyla.Streams.Contracts;

namespace Twyla.Cli;

/// <summary>
/// <c>twyla contracts list [--event NAME]</c> and <c>twyla contracts check --event NAME --schema FILE</c>, on the contracts
/// the listener groups announced (the bus's discovery) and <see cref="ContractCompatibility"/>.
/// </summary>
internal static class ContractCommands
{
    public static Command Create(CliContext context)
    {
        var command = new Command("contracts", "List the contracts listener groups announced, and check a producer's schema against them.");
        command.Subcommands.Add(List(context));
        command.Subcommands.Add(Check(context));
        return command;
    }

    private static Command List(CliContext context)
    {
        var eventOption = new Option<string?>("--event") { Description = "Only the groups that receive this event name (booking.created); default: every announced group." };
        var command = new Command("list", "List the announced contracts: pattern, group, service, versions, when announced, required members.") { eventOption };
        TwylaCommandLine.SetBrokerAction(command, context, async (run, cancellationToken) =>
        {
            var eventName = run.Parse.GetValue(eventOption);
            var groups = eventName is null
                ? await run.Broker.Bus.DiscoverGroupContractsAsync(cancellationToken).ConfigureAwait(false)
                : (await run.Broker.Bus.DiscoverContractsAsync(eventName, cancellationToken).ConfigureAwait(false)).Groups;
            run.Output.Write(groups.Select(View), () =>
            {
                if (groups.Count == 0)
                {
                    return eventName is null ? "No listener group announced a contract.\n" : $"No listener group that receives {eventName} announced a contract.\n";
                }

                var table = new Table("EVENT", "GROUP", "SERVICE", "VERSIONS", "ANNOUNCED AT", "REQUIRED");
                foreach (var group in groups)
                {
                    table.Add(group.Pattern, group.Group, group.Service, Versions(group), Output.Time(group.AnnouncedAt),
                        group.AcceptsAnything ? "(any payload)" : string.Join(", ", Required(group.Schema)) is { Length: > 0 } required ? required : "-");
                }

                return table.ToString();
            });
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Check(CliContext context)
    {
        var eventOption = new Option<string>("--event") { Description = "The event name the producer emits (booking.created).", Required = true };
        var schemaOption = new Option<FileInfo>("--schema") { Description = "A file with the JSON Schema of what the producer sends (ContractSchema.For<T>).", Required = true };
        var command = new Command("check", "Check that every group receiving the event accepts what the schema allows; exit 1 when one would reject it.") { eventOption, schemaOption };
        TwylaCommandLine.SetBrokerAction(command, context, async (run, cancellationToken) =>
        {
            var eventName = run.Parse.GetRequiredValue(eventOption);
            var producer = await ReadSchemaAsync(run.Parse.GetRequiredValue(schemaOption), cancellationToken).ConfigureAwait(false);
            var discovered = await run.Broker.Bus.DiscoverContractsAsync(eventName, cancellationToken).ConfigureAwait(false);
            if (discovered.Groups.Count == 0)
            {
                throw new CliException(ExitCodes.NotFound, $"No listener group that receives {eventName} announced a contract: nothing to check against.");
            }

            var verdicts = discovered.Groups
                .Select(g => new Verdict(g.Service, g.Group, g.Pattern, g.AcceptsAnything,
                    g.AcceptsAnything ? [] : ContractCompatibility.Check(producer, g.Schema!).Problems))
                .ToList();
            var compatible = verdicts.All(v => v.Compatible);
            run.Output.Write(new { @event = eventName, compatible, groups = verdicts }, () => CheckText(eventName, verdicts));
            return compatible ? ExitCodes.Ok : ExitCodes.Invalid;
        });
        return command;
    }

    private static string CheckText(string eventName, IReadOnlyList<Verdict> verdicts)
    {
        var table = new Table("EVENT", "GROUP", "SERVICE", "RESULT");
        foreach (var v in verdicts)
        {
            table.Add(v.Pattern, v.Group, v.Service,
                v.Compatible ? (v.AcceptsAnything ? "accepts (any payload)" : "accepts") : $"rejects ({v.Problems.Count} problem{(v.Problems.Count == 1 ? "" : "s")})");
        }

        var text = new StringBuilder(table.ToString());
        foreach (var v in verdicts.Where(v => !v.Compatible))
        {
            text.Append('\n').Append($"{v.Service}/{v.Group} ({v.Pattern}) would reject what the schema allows:\n");
            foreach (var problem in v.Problems)
            {
                text.Append("  ").Append(problem).Append('\n');
            }
        }

        var rejecting = verdicts.Count(v => !v.Compatible);
        text.Append(rejecting == 0
            ? $"Every group that receives {eventName} accepts what the schema allows.\n"
            : $"{rejecting} of {verdicts.Count} groups that receive {eventName} would reject what the schema allows.\n");
        return text.ToString();
    }

    /// <summary>The JSON Schema in <paramref name="file"/>: not found is exit 2, not JSON exit 1.</summary>
    private static async Task<JsonNode> ReadSchemaAsync(FileInfo file, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = await File.ReadAllTextAsync(file.FullName, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new CliException(ExitCodes.NotFound, $"No schema file {file.FullName}.");
        }

        try
        {
            return JsonNode.Parse(text) ?? throw new CliException(ExitCodes.Invalid, $"{file.Name} is not a JSON Schema: it holds null.");
        }
        catch (JsonException e)
        {
            throw new CliException(ExitCodes.Invalid, $"{file.Name} is not JSON: {e.Message}");
        }
    }

    private static string Versions(GroupContract group) => group.AcceptsAnything ? "any" : string.Join(", ", group.Versions);

    /// <summary>The payload's required members, as the schema's top-level <c>required</c> lists them.</summary>
    private static IEnumerable<string> Required(JsonNode? schema) =>
        schema is JsonObject { } o && o["required"] is JsonArray required
            ? required.Select(n => n?.ToString() ?? "")
            : [];

    private static object View(GroupContract g) => new
    {
        pattern = g.Pattern,
        group = g.Group,
        service = g.Service,
        versions = g.Versions,
        acceptsAnything = g.AcceptsAnything,
        announcedAt = g.AnnouncedAt,
        required = Required(g.Schema),
        schema = g.Schema,
    };

    private sealed record Verdict(string Service, string Group, string Pattern, bool AcceptsAnything, IReadOnlyList<ContractProblem> Problems)
    {
        public bool Compatible => Problems.Count == 0;
    }
}
