using System.Text.Json;
using Akka.Streams.TestKit;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Events;

/// <summary>Bad input is refused at once with a message that says what is expected.</summary>
public sealed class ArgumentValidationTests : BusTestKit
{
    [Theory]
    [InlineData("")]
    [InlineData("booking")]
    [InlineData("Booking.Created")]
    [InlineData("booking..created")]
    [InlineData("booking.created.")]
    [InlineData("booking created")]
    [InlineData("booking.*")]
    public void A_bad_event_name_should_be_an_argument_exception_that_shows_a_valid_name(string name)
    {
        var error = Assert.Throws<ArgumentException>(() => OutgoingEvent.Create(name, new BookingRequested("A", 1)));
        Assert.Contains("booking.created", error.Message, StringComparison.Ordinal);
        Assert.Equal("name", error.ParamName);
        Assert.Throws<ArgumentException>(() => Bus.Emit<BookingRequested>(name));
    }

    [Theory]
    [InlineData("booking")]
    [InlineData("Booking.*")]
    [InlineData("booking.**")]
    public void A_bad_pattern_or_group_should_be_an_argument_exception(string pattern)
    {
        var error = Assert.Throws<ArgumentException>(() => Bus.Listen<BookingRequested>(pattern, "group"));
        Assert.Contains("'booking.*'", error.Message, StringComparison.Ordinal);
        var groupError = Assert.Throws<ArgumentException>(() => Bus.Listen<BookingRequested>("booking.*", "Bad Group"));
        Assert.Contains("group", groupError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_null_payload_should_be_an_argument_exception()
    {
        var error = Assert.Throws<ArgumentNullException>(() => OutgoingEvent.Create<BookingRequested>("booking.requested", null!));
        Assert.Contains("booking.requested", error.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => OutgoingEvent.Create("booking.requested", default(JsonElement)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    public void Negative_or_zero_parallelism_prefetch_or_window_should_be_argument_exceptions(int value)
    {
        Assert.Contains("Parallelism", Assert.Throws<ArgumentOutOfRangeException>(() => AckOnCompletionSettings.Create(value)).Message, StringComparison.Ordinal);
        Assert.Contains("Prefetch", Assert.Throws<ArgumentOutOfRangeException>(() => ListenSettings.Default.WithPrefetch(value)).Message, StringComparison.Ordinal);
        Assert.Contains("MaxInFlight", Assert.Throws<ArgumentOutOfRangeException>(() => EmitSettings.Default.WithMaxInFlight(value)).Message, StringComparison.Ordinal);
        Assert.Contains("MaxDeliveries", Assert.Throws<ArgumentOutOfRangeException>(() => AckOnCompletionSettings.Default.WithMaxDeliveries(value)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_drop_without_reason_and_an_empty_service_name_should_be_argument_exceptions()
    {
        Assert.Contains("service name", Assert.Throws<ArgumentException>(() => EventBusSettings.Create(" ")).Message, StringComparison.Ordinal);

        await Bus.DeclareGroupAsync("booking.requested", "droppers", ListenSettings.Default);
        await EmitAsync(1);
        var probe = Bus.Listen<BookingRequested>("booking.requested", "droppers").RunWith(this.SinkProbe<Event<BookingRequested>>(), Materializer);
        probe.Request(1);
        var e = probe.ExpectNext();
        Assert.Contains("reason", Assert.Throws<ArgumentException>(() => { _ = e.DropAsync(" "); }).Message, StringComparison.Ordinal);
        Assert.False(e.IsSettled);
        probe.Cancel();
    }

    [Fact]
    public void ValidateListener_should_check_pattern_and_group_as_Listen_does_without_a_bus()
    {
        EventBus.ValidateListener("booking.*", "billing");
        Assert.Contains("listener group", Assert.Throws<ArgumentException>(() => EventBus.ValidateListener("booking.*", "Billing!")).Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => EventBus.ValidateListener("Booking", "billing"));
        Assert.True(Bus.IsInMemory);
    }
}
