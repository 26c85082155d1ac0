using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Events;

namespace Twyla.Streams.Tests.Support;

/// <summary>Starts a listener group that hands each payload to a callback and acks it.</summary>
internal static class Listeners
{
    public static async Task<IListenControl> StartAsync<T>(EventBus bus, string pattern, string group, Action<T> handle, IMaterializer materializer)
    {
        var control = bus.Listen<T>(pattern, group)
            .Via(AckOnCompletion.Flow<T>(
                e =>
                {
                    handle(e.Payload);
                    return Task.CompletedTask;
                },
                AckOnCompletionSettings.Default))
            .To(Sink.Ignore<HandledEvent>())
            .Run(materializer);
        await control.Ready.WaitAsync(TimeSpan.FromSeconds(10));
        return control;
    }
}
