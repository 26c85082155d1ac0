using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.RabbitMq;

/// <summary>A host whose event bus is made by <c>AddTwylaEvents</c> from options pointing at the test broker.</summary>
public abstract class RabbitMqHostingSpec(ITestOutputHelper output) : HostingSpec(output)
{
    /// <summary>An exchange of the test's own, so tests do not see each other's events.</summary>
    protected string Exchange { get; } = "twyla.hosting-test." + Guid.NewGuid().ToString("N")[..12];

    public override EventBus Bus => Host.Services.GetRequiredService<EventBus>();

    /// <summary>The broker the host talks to: the node of <c>./test.sh</c> unless a test gives its own.</summary>
    protected virtual string BrokerUri => Broker.Uri;

    protected override void ConfigureServices(HostBuilderContext context, IServiceCollection services) =>
        services.AddTwylaEvents(o =>
        {
            o.Amqp.Uri = BrokerUri;
            o.Exchange = Exchange;
            o.ServiceName = "hosting-tests";
        });

    protected override void ConfigureLogging(ILoggingBuilder builder)
    {
    }

    /// <summary>A second bus on the same broker and exchange, for the test to emit and to read queues after the host stopped.</summary>
    protected EventBus SecondBus() =>
        EventBus.RabbitMq(
            Transport.RabbitMq.RabbitMqSettings.FromUri(BrokerUri).WithExchange(Exchange), EventBusSettings.Create("hosting-tests-reader"));
}
