using Akka.Hosting;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.Hosting.Tests.Listeners;

/// <summary>A handler that dead-letters an event itself: the event is dead-lettered, and the hosted listener says so in its logs.</summary>
public sealed class HostedListenerDropTests(ITestOutputHelper output) : TwylaHostingSpec(output)
{
    protected override void ConfigureListeners(AkkaConfigurationBuilder builder) =>
        builder.WithTwylaListener<Booking>(Pattern, "checker", e =>
            e.Payload.N == 2 ? e.DropAsync("booking 2 is for another airline") : Task.CompletedTask);

    [Fact]
    public async Task A_drop_made_by_the_handler_should_be_logged_as_a_dead_letter_with_its_reason()
    {
        await Bus.DeclareGroupAsync(Pattern, "checker", Events.ListenSettings.Default, Ct);
        await EmitAsync(1, 3);

        await AwaitConditionAsync(async () => await Bus.CountDeadLettersAsync(Pattern, "checker", Ct) == 1, TimeSpan.FromSeconds(10), cancellationToken: Ct);
        var dead = await Bus.PeekDeadLettersAsync(Pattern, "checker", Ct);
        Assert.Equal("booking 2 is for another airline", dead[0].Reason);
        await AwaitConditionAsync(
            () => Task.FromResult(Logs.Lines.Any(l => l.Level == LogLevel.Error && l.Message.Contains("was dead-lettered", StringComparison.Ordinal))),
            TimeSpan.FromSeconds(10),
            cancellationToken: Ct);
        var line = Logs.Lines.Single(l => l.Message.Contains("was dead-lettered", StringComparison.Ordinal));
        Assert.Contains(dead[0].EventId!, line.Message, StringComparison.Ordinal);
        Assert.Contains("booking 2 is for another airline", line.Message, StringComparison.Ordinal);
    }
}
