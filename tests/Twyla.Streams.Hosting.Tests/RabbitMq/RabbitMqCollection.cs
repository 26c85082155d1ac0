using Xunit;

namespace Twyla.Streams.Hosting.Tests.RabbitMq;

/// <summary>The tests on the RabbitMQ node run one after the other: one of them stops the broker.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RabbitMqCollection
{
    public const string Name = "RabbitMQ node";
}
