using System.CommandLine;
using System.Text.Json;

namespace Twyla.Cli;

/// <summary><c>twyla emit NAME --data JSON</c>: one event, confirmed by the broker, as source <c>twyla-cli</c>.</summary>
internal static class EmitCommand
{
    public static Command Create(CliContext context)
    {
        var name = new Argument<string>("name") { Description = "The event name, domain.event-type (booking.created)." };
        var data = new Option<string>("--data") { Description = "The payload, a JSON document ('{\"bookingId\":\"B-1\"}').", Required = true };
        var command = new Command("emit", "Emit one event and wait for the broker's confirm.") { name, data };
        TwylaCommandLine.SetBrokerAction(command, context, async (run, cancellationToken) =>
        {
            JsonElement payload;
            try
            {
                using var doc = JsonDocument.Parse(run.Parse.GetRequiredValue(data));
                payload = doc.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw new CliException(ExitCodes.Invalid, $"--data is not JSON: {e.Message}");
            }

            var emitted = await run.Broker.Bus.EmitAsync(run.Parse.GetRequiredValue(name), payload, cancellationToken).ConfigureAwait(false);
            run.Output.Write(emitted, () => new Table("ID", "EVENT", "TIME", "CORRELATION ID", "SOURCE")
                .Add(emitted.Id, emitted.Name, Output.Time(emitted.Time), emitted.CorrelationId, emitted.Source)
                .ToString());
            return ExitCodes.Ok;
        });
        return command;
    }
}
