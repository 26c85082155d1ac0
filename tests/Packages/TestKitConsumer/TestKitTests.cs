using System.Reflection;
using Twyla.Streams;
using Xunit;

namespace TestKitConsumer;

/// <summary>A service's test project that has only the TestKit package (Twyla.Streams comes with it).</summary>
public sealed class TestKitTests
{
    [Fact]
    public void The_testkit_package_brings_its_assembly_and_the_library()
    {
        var testKit = Assembly.Load("Twyla.Streams.TestKit");
        Assert.Equal(typeof(EventBus).Assembly.GetName().Version, testKit.GetName().Version);
    }

    [Fact]
    public async Task A_service_test_emits_on_the_in_memory_bus()
    {
        await using var bus = EventBus.InMemory(EventBusSettings.Create("testkit-consumer"));
        var emitted = await bus.EmitAsync("greeting.sent", new { Name = "Ada" });
        Assert.Equal("greeting.sent", emitted.Name);
        Assert.Equal("testkit-consumer", emitted.Source);
    }
}
