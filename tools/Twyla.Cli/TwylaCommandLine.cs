using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Twyla.Streams.Transport;

namespace Twyla.Cli;

/// <summary>
/// The <c>twyla</c> command line: its commands, their options and the shared behaviour of every action (connect the
/// way a service does, write a table or JSON, turn failures into one line on standard error and an exit code).
/// </summary>
internal static class TwylaCommandLine
{
    public static readonly Option<string?> UriOption = new("--uri")
    {
        Description = "The broker, amqp://user:password@host:5672/vhost (default: the service configuration: Twyla__Amqp__Uri, TWYLA_AMQP_*).",
        Recursive = true,
    };

    public static readonly Option<bool> JsonOption = new("--json")
    {
        Description = "Write JSON for scripts instead of tables.",
        Recursive = true,
    };

    /// <summary>The root command; <paramref name="configuration"/> is where the broker is read from, <paramref name="input"/> answers confirmations.</summary>
    public static RootCommand Create(IConfiguration configuration, TextReader input)
    {
        var context = new CliContext(configuration, input);
        var root = new RootCommand("twyla: look at and repair what Twyla.Streams services have on the broker.")
        {
            UriOption,
            JsonOption,
        };
        root.Subcommands.Add(ContractCommands.Create(context));
        root.Subcommands.Add(DeadLetterCommands.Create(context));
        root.Subcommands.Add(EmitCommand.Create(context));
        root.Subcommands.Add(ListenCommand.Create(context));
        root.Subcommands.Add(TopologyCommand.Create(context));
        return root;
    }

    /// <summary>The command line of a process: configuration from the environment, confirmations from standard input.</summary>
    public static RootCommand ForProcess() =>
        Create(new ConfigurationBuilder().AddEnvironmentVariables().Build(), Console.In);

    /// <summary>Sets <paramref name="command"/>'s action: connects, runs <paramref name="action"/>, maps failures to exit codes.</summary>
    public static void SetBrokerAction(Command command, CliContext context, Func<Run, CancellationToken, Task<int>> action) =>
        command.SetAction(async (parse, cancellationToken) =>
        {
            var output = new Output(parse, parse.GetValue(JsonOption));
            try
            {
                var broker = await Broker.ConnectAsync(context.Configuration, parse.GetValue(UriOption), cancellationToken).ConfigureAwait(false);
                await using (broker.ConfigureAwait(false))
                {
                    return await action(new Run(parse, output, broker, context.Input), cancellationToken).ConfigureAwait(false);
                }
            }
            catch (CliException e)
            {
                await output.Error.WriteLineAsync("twyla: " + e.Message).ConfigureAwait(false);
                return e.ExitCode;
            }
            catch (ArgumentException e)
            {
                await output.Error.WriteLineAsync("twyla: " + e.Message).ConfigureAwait(false);
                return ExitCodes.Invalid;
            }
            catch (BrokerException e)
            {
                await output.Error.WriteLineAsync("twyla: " + e.Message).ConfigureAwait(false);
                return ExitCodes.Broker;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                await output.Error.WriteLineAsync("twyla: cancelled").ConfigureAwait(false);
                return ExitCodes.Cancelled;
            }
        });
}

/// <summary>What every command's action gets from the process: where the broker is configured, and where confirmations come from.</summary>
internal sealed record CliContext(IConfiguration Configuration, TextReader Input);

/// <summary>One invocation: its parse result, output, connected broker and input.</summary>
internal sealed record Run(ParseResult Parse, Output Output, Broker Broker, TextReader Input);
