using System.Reflection;
using Twyla.Streams;
using Twyla.Streams.TestKit;
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

    [Fact]
    public async Task A_handler_test_builds_an_event_by_hand_and_asserts_its_settlement()
    {
        // The TestKit's own API, from the package: an event built by hand, handed to a handler, its settlement asserted.
        var refused = TestEvent.Create("greeting.sent", new Greeting("")).WithDeliveryCount(2);
        var accepted = TestEvent.Create("greeting.sent", new Greeting("Ada"));

        await Greeter.HandleAsync(refused.Event);
        await Greeter.HandleAsync(accepted.Event);

        Assert.Equal("no name", refused.ExpectDropped());
        accepted.ExpectNotSettled(); // left to ack on completion
        Assert.Equal(2, refused.Event.DeliveryCount);
    }

    public sealed record Greeting(string Name);

    private static class Greeter
    {
        public static Task HandleAsync(Twyla.Streams.Events.Event<Greeting> e) =>
            string.IsNullOrEmpty(e.Payload.Name) ? e.DropAsync("no name") : Task.CompletedTask;
    }
}
