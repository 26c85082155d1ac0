using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.Infrastructure;

/// <summary>
/// A host started with the Akka.Hosting TestKit, whose event bus is an in-memory bus owned by the test (registered
/// before <c>AddTwylaEvents</c>, so it outlives the host and the test can read the queues after shutdown).
/// </summary>
public abstract class TwylaHostingSpec(ITestOutputHelper output) : HostingSpec(output)
{
    public override EventBus Bus { get; } = EventBus.InMemory(EventBusSettings.Create("hosting-tests"));

    public LogCapture Logs { get; } = new();

    protected internal Task EmitAsync(int from, int count) =>
        Task.WhenAll(Enumerable.Range(from, count).Select(n => Bus.EmitAsync(Pattern, new Booking($"b-{n}", n))));

    protected override void ConfigureLogging(ILoggingBuilder builder) => builder.AddProvider(Logs);

    protected override void ConfigureServices(HostBuilderContext context, IServiceCollection services)
    {
        services.AddSingleton(Bus);
        services.AddTwylaEvents(o => o.ServiceName = "hosting-tests");
    }

}
