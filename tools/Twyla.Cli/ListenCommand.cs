using System.CommandLine;
using System.Text;
using System.Text.Json;
using RabbitMQ.Client;
using RabbitMQ.Client.Events;
using Twyla.Streams.Transport.RabbitMq;

namespace Twyla.Cli;

/// <summary>
/// <c>twyla listen PATTERN</c>: prints the events that match as they are emitted, until Ctrl+C (or <c>--count</c>), on
/// a temporary queue: server-named, exclusive and auto-delete, bound to the events exchange with the pattern, deleted
/// when the command ends (and by the broker should the process die). It takes copies: no group's events are consumed.
/// Messages are read with the library's codec, so the metadata is what a listener would see.
/// </summary>
internal static class ListenCommand
{
    public static Command Create(CliContext context)
    {
        var pattern = new Argument<string>("pattern") { Description = "An event name or pattern (booking.created, booking.*, #)." };
        var count = new Option<int?>("--count") { Description = "Stop after this many events (default: until Ctrl+C)." };
        var command = new Command("listen", "Print events as they are emitted, with their metadata, until Ctrl+C; leaves nothing on the broker.") { pattern, count };
        TwylaCommandLine.SetBrokerAction(command, context, async (run, cancellationToken) =>
        {
            var name = run.Parse.GetRequiredValue(pattern);
            Twyla.Streams.Events.EventName.ValidatePattern(name, "pattern");
            var limit = run.Parse.GetValue(count);
            var transport = run.Broker.Transport;
            var channel = await run.Broker.OpenChannelAsync(cancellationToken).ConfigureAwait(false);
            await using (channel.ConfigureAwait(false))
            {
                await RabbitMqTopology.DeclareExchangeAsync(channel, transport.Settings.Exchange, cancellationToken).ConfigureAwait(false);
                var queue = (await channel.QueueDeclareAsync("", durable: false, exclusive: true, autoDelete: true, arguments: null, cancellationToken: cancellationToken)
                    .ConfigureAwait(false)).QueueName;
                try
                {
                    await channel.QueueBindAsync(queue, transport.Settings.Exchange, name, arguments: null, cancellationToken: cancellationToken).ConfigureAwait(false);
                    var seen = 0;
                    var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    var consumer = new AsyncEventingBasicConsumer(channel);
                    consumer.ReceivedAsync += async (_, delivery) =>
                    {
                        if (done.Task.IsCompleted)
                        {
                            return;
                        }

                        await run.Output.Out.WriteAsync(Format(transport.Codec, delivery, run.Output.Json)).ConfigureAwait(false);
                        await run.Output.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                        if (++seen >= limit)
                        {
                            done.TrySetResult();
                        }
                    };
                    await channel.BasicConsumeAsync(queue, autoAck: true, consumer, cancellationToken).ConfigureAwait(false);
                    await run.Output.Error.WriteLineAsync($"listening to {name} on the temporary queue {queue} (Ctrl+C to stop)").ConfigureAwait(false);
                    await run.Output.Error.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    try
                    {
                        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        // Ctrl+C: the normal end of a listen.
                    }
                }
                finally
                {
                    // The broker deletes it with the connection too; deleting it here leaves nothing behind at once.
                    await channel.QueueDeleteAsync(queue, ifUnused: false, ifEmpty: false, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                }
            }

            return ExitCodes.Ok;
        });
        return command;
    }

    private static string Format(CloudEventsAmqpCodec codec, BasicDeliverEventArgs delivery, bool json)
    {
        var decoded = codec.Decode(delivery.RoutingKey, delivery.BasicProperties, delivery.Body.ToArray());
        if (decoded.Envelope is not { } envelope)
        {
            var body = Encoding.UTF8.GetString(delivery.Body.Span);
            return json
                ? JsonSerializer.Serialize(new { routingKey = delivery.RoutingKey, error = decoded.Error, body }, Output.JsonLineOptions) + "\n"
                : $"{delivery.RoutingKey}  not a valid event: {decoded.Error}\n  {body}\n";
        }

        var m = envelope.Metadata;
        var data = Encoding.UTF8.GetString(envelope.Data.Span);
        if (json)
        {
            using var payload = JsonDocument.Parse(envelope.Data);
            return JsonSerializer.Serialize(new
            {
                id = m.Id, name = m.Name, time = m.Time, source = m.Source, correlationId = m.CorrelationId,
                causationId = m.CausationId, version = m.Version, data = payload.RootElement,
            }, Output.JsonLineOptions) + "\n";
        }

        var cause = m.CausationId.Length > 0 ? m.CausationId : "-";
        return $"{Output.Time(m.Time)}  {m.Name}  id={m.Id} source={m.Source} correlation={m.CorrelationId} causation={cause} version={m.Version}\n  {data}\n";
    }
}
