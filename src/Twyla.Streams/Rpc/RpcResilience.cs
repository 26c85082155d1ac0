using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Twyla.Streams.Rpc;

/// <summary>
/// The one Polly pipeline a call's attempts run through: retries (idempotent procedures only, transient failures only,
/// the library's one backoff rule, never past the deadline) around the circuit breaker of the call's service (one per
/// service, shared by every call to it). The deadline itself is the call's cancellation token: it cancels an attempt
/// and a backoff delay alike.
/// </summary>
internal sealed class RpcResilience(RpcClientSettings settings)
{
    private static readonly ResiliencePropertyKey<RpcCall> CallKey = new("twyla.rpc.call");
    private static readonly ResiliencePropertyKey<TimeSpan> DelayKey = new("twyla.rpc.retry-delay");

    private readonly ConcurrentDictionary<string, ResiliencePipeline<RpcAttempt>> _breakers = new(StringComparer.Ordinal);

    // Pipelines by call settings (weakly: a caller may make settings per call) and service.
    private readonly ConditionalWeakTable<RpcCallSettings, ConcurrentDictionary<string, ResiliencePipeline<RpcAttempt>>> _pipelines = new();

    /// <summary>Runs <paramref name="send"/> for <paramref name="call"/> through the pipeline; never throws for a failed attempt.</summary>
    public async Task<RpcAttempt> ExecuteAsync(RpcCall call, Func<RpcCall, Task<RpcAttempt>> send)
    {
        var pipeline = PipelineFor(call);
        var context = ResilienceContextPool.Shared.Get(call.Token);
        context.Properties.Set(CallKey, call);
        try
        {
            var outcome = await pipeline.ExecuteOutcomeAsync(
                static async (_, state) => Outcome.FromResult(await state.send(state.call).ConfigureAwait(false)),
                context,
                (send, call)).ConfigureAwait(false);
            return outcome.Exception switch
            {
                null => outcome.Result!,
                BrokenCircuitException e => RpcAttempt.Error(
                    RpcFailureCodes.CircuitOpen,
                    $"The circuit of service '{call.Target.Service}' is open after repeated failures; retry after {e.RetryAfter?.TotalMilliseconds ?? 0:F0} ms.",
                    0,
                    transient: false),
                OperationCanceledException => RpcAttempt.TimedOut,
                var e => RpcAttempt.Error(RpcFailureCodes.TransportError, e.Message, 0, transient: true),
            };
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    /// <summary>The delay before retry <paramref name="retry"/> (1 for the first): the library's one <see cref="Streams.Backoff"/> rule.</summary>
    internal static TimeSpan Backoff(RpcCallSettings call, int retry) => Streams.Backoff.Delay(call.BackoffBase, call.BackoffMax, retry - 1);

    private ResiliencePipeline<RpcAttempt> PipelineFor(RpcCall call) =>
        _pipelines.GetOrCreateValue(call.Settings).GetOrAdd(call.Target.Service, static (service, state) => state.self.Build(service, state.call), (self: this, call: call.Settings));

    private ResiliencePipeline<RpcAttempt> Build(string service, RpcCallSettings call)
    {
        var retries = call.Idempotent && call.MaxAttempts > 1;
        var breaker = settings.CircuitBreakerEnabled ? _breakers.GetOrAdd(service, CreateBreaker) : null;
        if (!retries)
        {
            return breaker ?? ResiliencePipeline<RpcAttempt>.Empty;
        }

        var builder = new ResiliencePipelineBuilder<RpcAttempt>().AddRetry(new RetryStrategyOptions<RpcAttempt>
        {
            Name = "twyla-rpc-retry",
            MaxRetryAttempts = call.MaxAttempts - 1,
            ShouldHandle = static args =>
            {
                if (args.Outcome.Result is not { Kind: RpcAttemptKind.Error, Transient: true })
                {
                    return new ValueTask<bool>(false);
                }

                // Retry only when the backoff still ends before the deadline; otherwise the failure is the answer.
                var attempted = args.Context.Properties.GetValue(CallKey, null!);
                var delay = Backoff(attempted.Settings, args.AttemptNumber + 1);
                if (Stopwatch.GetElapsedTime(attempted.Start) + delay >= attempted.Timeout)
                {
                    return new ValueTask<bool>(false);
                }

                args.Context.Properties.Set(DelayKey, delay);
                return new ValueTask<bool>(true);
            },
            DelayGenerator = static args => new ValueTask<TimeSpan?>(args.Context.Properties.GetValue(DelayKey, TimeSpan.Zero)),
        });
        return (breaker is null ? builder : builder.AddPipeline(breaker)).Build();
    }

    private ResiliencePipeline<RpcAttempt> CreateBreaker(string service) =>
        new ResiliencePipelineBuilder<RpcAttempt>()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<RpcAttempt>
            {
                Name = "twyla-rpc-" + service,
                FailureRatio = settings.CircuitBreakerFailureRatio,
                MinimumThroughput = settings.CircuitBreakerMinimumThroughput,
                SamplingDuration = settings.CircuitBreakerSamplingDuration,
                BreakDuration = settings.CircuitBreakerBreakDuration,
                ShouldHandle = static args => new ValueTask<bool>(args.Outcome.Result?.CountsAsFailure ?? args.Outcome.Exception is not null),
            })
            .Build();
}
