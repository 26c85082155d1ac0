using System.Collections.Concurrent;
using System.Diagnostics;
using Akka.Streams.Dsl;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Events;
using Twyla.Streams.Tests.Support;
using Xunit;

namespace Twyla.Streams.Tests.Diagnostics;

/// <summary>A trace started by an emitter continues through every handler and every event they emit.</summary>
public sealed class EventTracingTests : BusTestKit
{
    private static readonly ActivitySource TestSource = new("Twyla.Streams.Tests.Tracing");

    [Fact]
    public async Task A_handler_should_run_in_the_trace_of_its_event_and_pass_it_on_to_the_events_it_emits()
    {
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is EventTracing.ActivitySourceName or "Twyla.Streams.Tests.Tracing",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = stopped.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        await Bus.DeclareGroupAsync("booking.requested", "traced", ListenSettings.Default);
        await Bus.DeclareGroupAsync("booking.confirmed", "traced", ListenSettings.Default);
        var seenInConfirmer = new TaskCompletionSource<ActivityTraceId>(TaskCreationOptions.RunContinuationsAsynchronously);
        var seenInNotifier = new TaskCompletionSource<ActivityTraceId>(TaskCreationOptions.RunContinuationsAsynchronously);

        var confirmer = Bus.Listen<BookingRequested>("booking.requested", "traced")
            .To(AckOnCompletion.Sink<BookingRequested>(
                async e =>
                {
                    seenInConfirmer.TrySetResult(Activity.Current!.TraceId);
                    await Bus.EmitAsync(e.Derive("booking.confirmed", new BookingConfirmed(e.Payload.Pnr)));
                },
                AckOnCompletionSettings.Default))
            .Run(Materializer);
        var notifier = Bus.Listen<BookingConfirmed>("booking.confirmed", "traced")
            .To(AckOnCompletion.Sink<BookingConfirmed>(
                e =>
                {
                    seenInNotifier.TrySetResult(Activity.Current!.TraceId);
                    return Task.CompletedTask;
                },
                AckOnCompletionSettings.Default))
            .Run(Materializer);

        ActivityTraceId traceId;
        using (var root = TestSource.StartActivity("checkout"))
        {
            traceId = root!.TraceId;
            await Bus.EmitAsync("booking.requested", new BookingRequested("TR4CE1", 1));
        }

        Assert.Equal(traceId, await seenInConfirmer.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(traceId, await seenInNotifier.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await Task.WhenAll(confirmer.DrainAsync(), notifier.DrainAsync()).WaitAsync(TimeSpan.FromSeconds(10));

        var spans = stopped.Where(a => a.TraceId == traceId).ToList();
        var publish = Assert.Single(spans, a => a.DisplayName == "booking.requested publish");
        var process = Assert.Single(spans, a => a.DisplayName == "booking.requested process");
        Assert.Equal(ActivityKind.Producer, publish.Kind);
        Assert.Equal(ActivityKind.Consumer, process.Kind);
        Assert.Equal(publish.SpanId, process.ParentSpanId);
        Assert.Single(spans, a => a.DisplayName == "booking.confirmed publish" && a.ParentSpanId == process.SpanId);
        Assert.Single(spans, a => a.DisplayName == "booking.confirmed process");
    }

    [Fact]
    public async Task A_retry_and_a_dead_letter_should_show_on_the_consumer_spans_of_their_deliveries()
    {
        var name = "booking.traced" + Guid.NewGuid().ToString("N")[..8];
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == EventTracing.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.DisplayName == name + " process")
                {
                    stopped.Enqueue(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        var listen = ListenSettings.Default.WithRetryDelays([TimeSpan.FromMilliseconds(10)]);
        await Bus.DeclareGroupAsync(name, "traced", listen);
        var control = Bus.Listen<BookingRequested>(name, "traced", listen)
            .To(AckOnCompletion.Sink<BookingRequested>(
                _ => throw new InvalidOperationException("the seat map is down"), AckOnCompletionSettings.Default.WithMaxDeliveries(2)))
            .Run(Materializer);

        await Bus.EmitAsync(name, new BookingRequested("TR4CE2", 1));
        await AwaitConditionAsync(() => Task.FromResult(stopped.Count == 2), TimeSpan.FromSeconds(10));
        await control.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));

        var (first, second) = (stopped.Single(a => (int)a.GetTagItem("twyla.delivery_count")! == 1), stopped.Single(a => (int)a.GetTagItem("twyla.delivery_count")! == 2));
        Assert.Equal("retry", first.GetTagItem("twyla.settlement"));
        Assert.Equal(typeof(InvalidOperationException).FullName, first.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, first.Status);
        Assert.Equal("InvalidOperationException: the seat map is down", Assert.Single(first.Events, e => e.Name == "retry").Tags.Single(t => t.Key == "twyla.reason").Value);
        Assert.Equal("dead_letter", second.GetTagItem("twyla.settlement"));
        Assert.Equal("handler_failed", second.GetTagItem("twyla.dead_letter.reason"));
        Assert.Single(second.Events, e => e.Name == "dead_letter");
        Assert.Equal(first.GetTagItem("messaging.message.id"), second.GetTagItem("messaging.message.id"));
    }

    [Fact]
    public async Task An_invalid_payload_dead_lettered_before_any_handler_should_have_a_consumer_span_saying_so()
    {
        var name = "booking.invalid" + Guid.NewGuid().ToString("N")[..8];
        var stopped = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == EventTracing.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.DisplayName.StartsWith(name, StringComparison.Ordinal))
                {
                    stopped.Enqueue(a);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
        await Bus.DeclareGroupAsync(name, "traced", ListenSettings.Default);
        var handled = 0;
        var control = Bus.Listen<BookingRequested>(name, "traced")
            .To(AckOnCompletion.Sink<BookingRequested>(_ => Task.FromResult(Interlocked.Increment(ref handled)), AckOnCompletionSettings.Default))
            .Run(Materializer);

        await Bus.EmitAsync(name, new { Pnr = 42 }); // a number where the listener's type has a string
        await AwaitConditionAsync(() => Task.FromResult(stopped.Any(a => a.Kind == ActivityKind.Consumer)), TimeSpan.FromSeconds(10));
        await control.DrainAsync().WaitAsync(TimeSpan.FromSeconds(10));

        var publish = Assert.Single(stopped, a => a.Kind == ActivityKind.Producer);
        var process = Assert.Single(stopped, a => a.Kind == ActivityKind.Consumer);
        Assert.Equal(name + " process", process.DisplayName);
        Assert.Equal(publish.SpanId, process.ParentSpanId);
        Assert.Equal("dead_letter", process.GetTagItem("twyla.settlement"));
        Assert.Equal("invalid_payload", process.GetTagItem("twyla.dead_letter.reason"));
        Assert.Equal("invalid_payload", process.GetTagItem("error.type"));
        Assert.Equal(ActivityStatusCode.Error, process.Status);
        Assert.Equal(publish.GetTagItem("messaging.message.id"), process.GetTagItem("messaging.message.id"));
        Assert.Contains("pnr", (string)Assert.Single(process.Events, e => e.Name == "dead_letter").Tags.Single(t => t.Key == "twyla.reason").Value!, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(0, handled);
    }
}
