using Akka.Streams;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Twyla.Streams.Transport.RabbitMq;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.FaultMatrix;

/// <summary>What the fault matrix tests share: an actor system for the streams, and the entry points on a bus.</summary>
public abstract class FaultMatrixSpec(ITestOutputHelper output) : Akka.TestKit.Xunit2.TestKit(output: output)
{
    protected ITestOutputHelper TestOutput { get; } = output;

    /// <summary>A bus with the matrix's short confirm timeout.</summary>
    protected static EventBus Bus(RabbitMqSettings settings) =>
        EventBus.RabbitMq(settings.WithConfirmTimeout(Documented.ConfirmTimeout), EventBusSettings.Create("fault-matrix"));

    /// <summary>Every entry point running on <paramref name="bus"/> (see <see cref="EntryPoints"/>).</summary>
    internal Task<EntryPoints> StartEntryPointsAsync(EventBus bus, ListenSettings? listen = null) =>
        EntryPoints.StartAsync(bus, Sys.Materializer(), TestOutput, listen ?? ListenSettings.Default);
}
