using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Events;

namespace Twyla.Streams.Testing;

/// <summary>Starts a listener group that hands each payload to a callback and acks it. Linked into the unit and integration tests.</summary>
internal static class Listeners
{
    /// <summary>How long a listener may take to start consuming: reached only by a hang.</summary>
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(30);

    /// <summary>Starts the listener and returns once it consumes (<see cref="IListenControl.Ready"/>).</summary>
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
        await control.Ready.WaitAsync(Hang);
        return control;
    }
}
