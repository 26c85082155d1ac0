using System.Threading.Channels;
using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Benchmarks.Events;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Benchmarks.Latency;

/// <summary>
/// Ours: the round's indexes flow from the schedule into <see cref="EventBus.Emit{T}(string, EmitSettings)"/> (a stream
/// of <see cref="BookingConfirmed"/> records); <see cref="EventBus.Listen{T}(string, string, ListenSettings)"/> feeds
/// <see cref="AckOnCompletion"/>, whose handler records the latency.
/// </summary>
internal sealed class OursLatencySide(EventBus bus, IMaterializer materializer, Broker broker, LatencyOptions options) : LatencySide("ours")
{
    private const string Group = "ours";

    public override string QueueOf(string round) => ListenerTopology.Create(round, Group, QueueType.Classic).QueueName;

    public override async Task<Func<Task>> StartConsumerAsync(string round, LatencyRecorder recorder)
    {
        var listen = ListenSettings.Default.WithPrefetch(options.Prefetch);
        await bus.DeclareGroupAsync(round, Group, listen);
        var (control, listened) = bus.Listen<BookingConfirmed>(round, Group, listen)
            .Via(AckOnCompletion.Flow<BookingConfirmed>(
                e =>
                {
                    recorder.Handled(e.Payload);
                    return Task.CompletedTask;
                },
                AckOnCompletionSettings.Create(options.Parallelism)))
            .ToMaterialized(
                Sink.ForEach<HandledEvent>(h =>
                {
                    if (h.Settlement != SettleKind.Ack)
                    {
                        recorder.Fail(new InvalidOperationException($"event {h.Metadata.Id} was {h.Settlement}: {h.Reason}"));
                    }
                }),
                Keep.Both)
            .Run(materializer);
        _ = control.Completion.ContinueWith(t => recorder.Fail(t.Exception!), TaskContinuationOptions.OnlyOnFaulted);
        _ = listened.ContinueWith(t => recorder.Fail(t.Exception!), TaskContinuationOptions.OnlyOnFaulted);
        await broker.WaitForConsumerAsync(QueueOf(round), TimeSpan.FromSeconds(30));
        return control.DrainAsync;
    }

    public override Task PublishAsync(string round, ChannelReader<int> indexes, Action<Exception> fail) =>
        ChannelSource.FromReader(indexes)
            .Select(BookingConfirmed.Sample)
            .RunWith(bus.Emit<BookingConfirmed>(round, EmitSettings.Default.WithMaxInFlight(options.MaxInFlight)), materializer);

    public override Task DeleteAsync(string round) => broker.DeleteQueueAsync(QueueOf(round));
}
