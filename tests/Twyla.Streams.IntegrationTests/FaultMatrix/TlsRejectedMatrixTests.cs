using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Events;
using Twyla.Streams.IntegrationTests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace Twyla.Streams.IntegrationTests.FaultMatrix;

/// <summary>
/// Fault matrix, the broker's TLS certificate rejected at connect: <c>EmitAsync</c>, the <c>Emit</c> sink and <c>EmitFlow</c> fail with <c>EmitException</c> and
/// <c>Listen</c> with <c>ListenException</c>, each saying the certificate was rejected (not a timeout), for a CA the
/// client does not trust and for a host name the certificate does not carry (it names <c>localhost</c> only).
/// </summary>
public class TlsRejectedMatrixTests(ITestOutputHelper output) : FaultMatrixSpec(output)
{
    public static TheoryData<string> Rejections => ["untrusted CA", "wrong host name"];

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task Rejected_certificate_should_fail_EmitAsync_and_Listen_at_once_with_the_documented_exceptions(string rejection)
    {
        var settings = rejection == "untrusted CA"
            ? Broker.Settings(Broker.TlsUri)
            : Broker.Settings(Broker.TlsUri).WithHost("127.0.0.1").WithTlsCertificateAuthority(Broker.CaFile);
        await using var bus = Bus(settings);

        var emit = await Assert.ThrowsAnyAsync<Exception>(
            () => bus.EmitAsync(EntryPoints.EmitAsyncName, new MatrixEvent("emit-async", 1)).WaitAsync(Documented.Hang));
        TestOutput.WriteLine($"EmitAsync failed: {emit.GetType().FullName}: {emit.Message}");
        Documented.EmitFailure(emit, EntryPoints.EmitAsyncName);
        Assert.Contains("certificate", emit.Message, StringComparison.OrdinalIgnoreCase);

        var sink = await Assert.ThrowsAnyAsync<Exception>(
            () => Source.Single(new MatrixEvent("sink", 1)).RunWith(bus.Emit<MatrixEvent>(EntryPoints.SinkName), Sys.Materializer()).WaitAsync(Documented.Hang));
        TestOutput.WriteLine($"Emit sink failed: {sink.GetType().FullName}: {sink.Message}");
        Documented.EmitStreamOpenFailure(sink);
        Assert.Contains("certificate", sink.Message, StringComparison.OrdinalIgnoreCase);

        var flow = await Assert.ThrowsAnyAsync<Exception>(
            () => Source.Single(Emit.OutgoingEvent.Create(EntryPoints.FlowName, new MatrixEvent("flow", 1)))
                .Via(bus.EmitFlow<MatrixEvent>())
                .RunWith(Sink.Ignore<EventMetadata>(), Sys.Materializer())
                .WaitAsync(Documented.Hang));
        TestOutput.WriteLine($"EmitFlow failed: {flow.GetType().FullName}: {flow.Message}");
        Documented.EmitStreamOpenFailure(flow);
        Assert.Contains("certificate", flow.Message, StringComparison.OrdinalIgnoreCase);

        var group = TestEvents.Group();
        var control = bus.Listen<MatrixEvent>(EntryPoints.Pattern, group).To(Sink.Ignore<Event<MatrixEvent>>()).Run(Sys.Materializer());
        var listen = await Assert.ThrowsAnyAsync<Exception>(() => control.Completion.WaitAsync(Documented.Hang));
        TestOutput.WriteLine($"Listen failed: {listen.GetType().FullName}: {listen.Message}");
        Documented.ListenFailure(listen, $"{EntryPoints.Pattern}.{group}");
        Assert.Contains("certificate", listen.Message, StringComparison.OrdinalIgnoreCase);
    }
}
