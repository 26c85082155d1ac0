using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Hosting.Diagnostics;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Hosting;

/// <summary>
/// Turns on Twyla's traces and metrics in OpenTelemetry:
/// <c>services.AddOpenTelemetry().WithTracing(t => t.AddTwylaInstrumentation()).WithMetrics(m => m.AddTwylaInstrumentation())</c>.
/// </summary>
public static class TwylaInstrumentationExtensions
{
    /// <summary>
    /// Adds the spans of emits and handlers (<see cref="EventTracing.ActivitySourceName"/>), RPC calls
    /// (<see cref="RpcClient.ActivitySourceName"/>) and served procedures (<see cref="TwylaHostingTelemetry.ActivitySourceName"/>).
    /// </summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static TracerProviderBuilder AddTwylaInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource(EventTracing.ActivitySourceName, RpcClient.ActivitySourceName, TwylaHostingTelemetry.ActivitySourceName);
    }

    /// <summary>
    /// Adds the library's meter (<see cref="TwylaTelemetry.MeterName"/>: events and RPC calls) and the hosting meter
    /// (<see cref="TwylaHostingTelemetry.MeterName"/>: hosted listeners and served procedures).
    /// </summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns>The builder, for chaining.</returns>
    public static MeterProviderBuilder AddTwylaInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(TwylaTelemetry.MeterName, TwylaHostingTelemetry.MeterName);
    }
}
