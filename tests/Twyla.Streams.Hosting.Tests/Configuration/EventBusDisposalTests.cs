using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Configuration;

/// <summary>The bus in a container that is disposed without awaiting (a console tool, a test's <c>using</c>).</summary>
public sealed class EventBusDisposalTests
{
    [Fact]
    public async Task A_service_provider_disposed_synchronously_should_dispose_the_bus_instead_of_throwing()
    {
        var services = new ServiceCollection();
        services.AddTwylaEvents(o =>
        {
            o.Transport = TwylaTransport.InMemory;
            o.ServiceName = "booking-api";
        });

        EventBus bus;
        using (var provider = services.BuildServiceProvider())
        {
            bus = provider.GetRequiredService<EventBus>();
            await bus.EmitAsync("booking.created", new { BookingId = "B-1" });
        }

        // Disposed: emitting fails as every failed emit does, with the disposal as the cause.
        var failure = await Assert.ThrowsAsync<Twyla.Streams.Emit.EmitException>(() => bus.EmitAsync("booking.created", new { BookingId = "B-2" }));
        Assert.IsType<ObjectDisposedException>(failure.InnerException);
    }
}
