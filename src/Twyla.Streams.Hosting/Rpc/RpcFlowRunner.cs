using System.Collections.Concurrent;
using System.Threading.Channels;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Rpc;
using Twyla.Streams.Hosting.Diagnostics;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>
/// Runs the requests of all callers of a flow-served procedure through ONE materialization of the flow: a
/// bounded channel in front (callers wait when it is full, within their deadline). Each request enters the flow with
/// its caller's <see cref="RpcContext"/> beside it, and an answer goes to the caller whose context it carries, so a
/// flow that reorders, drops or repeats elements cannot hand one caller another caller's answer. A caller whose request
/// gets no answer within the answer timeout fails with <see cref="RpcFailureCodes.NoAnswer"/>. When the flow stops,
/// every pending caller fails and the next request materializes the flow anew.
/// </summary>
internal sealed class RpcFlowRunner<TRequest, TResponse>
{
    private readonly string _procedure;
    private readonly FlowWithContext<TRequest, RpcContext, TResponse, RpcContext, NotUsed> _flow;
    private readonly int _bufferSize;
    private readonly TimeSpan _answerTimeout;
    private readonly ILogger? _logger;
    private readonly Lock _gate = new();
    private Run? _current;
    private readonly StartedMaterializer _materializer;
    private readonly Func<ActorSystem> _system;

    public RpcFlowRunner(
        string procedure,
        FlowWithContext<TRequest, RpcContext, TResponse, RpcContext, NotUsed> flow,
        RpcServerOptions options,
        IServiceProvider services)
    {
        _procedure = procedure;
        _flow = flow;
        _bufferSize = options.EffectiveFlowBufferSize;
        _answerTimeout = options.EffectiveFlowAnswerTimeout;
        _materializer = new StartedMaterializer("rpc-" + procedure);
        _system = services.GetRequiredService<ActorSystem>;
        _logger = services.GetService<ILoggerFactory>()?.CreateLogger("Twyla.Streams.Hosting.Rpc");
    }

    public async Task<TResponse> InvokeAsync(TRequest request, RpcContext context, CancellationToken cancellationToken)
    {
        var pending = new Pending(request, context);
        // Awaited, not blocked on: see StartedMaterializer.
        var materializer = await _materializer.GetAsync(_system).WaitAsync(cancellationToken).ConfigureAwait(false);
        Run run;
        for (var attempt = 1; ; attempt++)
        {
            run = Current(materializer);
            try
            {
                await run.EnqueueAsync(pending, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (ChannelClosedException) when (attempt == 1)
            {
                // the flow stopped between Current() and the write: the next materialization takes the request
            }
        }

        try
        {
            return await pending.Promise.Task.WaitAsync(_answerTimeout, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new RpcException(
                RpcFailureCodes.NoAnswer,
                $"The flow serving '{_procedure}' gave no answer to this request within {_answerTimeout.TotalSeconds:0.###} s: it dropped the request or is stuck.",
                500);
        }
        finally
        {
            run.Forget(pending); // answered, failed, or its caller stopped waiting: a late answer is discarded
        }
    }

    private Run Current(IMaterializer materializer)
    {
        if (Volatile.Read(ref _current) is { Stopped: false } running)
        {
            return running;
        }

        lock (_gate)
        {
            if (_current is { Stopped: false } run)
            {
                return run;
            }

            // Not in the async context of the call that happens to start it: the run outlives that call, and its
            // own work (the log line of a failed flow) must not carry that call's log scope, span or RpcContext.
            using (ExecutionContext.SuppressFlow())
            {
                _current = new Run(this, materializer); // the materializer's supervisor runs: this does not block
            }

            return _current;
        }
    }

    private sealed class Pending(TRequest request, RpcContext context)
    {
        public TRequest Request { get; } = request;

        public RpcContext Context { get; } = context;

        public TaskCompletionSource<TResponse> Promise { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Run
    {
        private readonly Channel<Pending> _channel;
        // By the caller's context object (reference identity: every call has its own, and only the server makes them).
        private readonly ConcurrentDictionary<RpcContext, Pending> _unanswered = new(ReferenceEqualityComparer.Instance);
        private readonly RpcFlowRunner<TRequest, TResponse> _owner;
        private volatile bool _stopped;

        public Run(RpcFlowRunner<TRequest, TResponse> owner, IMaterializer materializer)
        {
            _owner = owner;
            _channel = Channel.CreateBounded<Pending>(new BoundedChannelOptions(owner._bufferSize)
            {
                SingleReader = true,
                FullMode = BoundedChannelFullMode.Wait,
            });
            var done = ChannelSource.FromReader(_channel.Reader)
                .Select(p => (p.Request, p.Context))
                .Via(owner._flow)
                .Named("rpc-flow-" + owner._procedure)
                .RunWith(Sink.ForEach<(TResponse Response, RpcContext Context)>(Complete), materializer);
            done.ContinueWith(t => Stop(t.Exception?.GetBaseException()), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        public async ValueTask EnqueueAsync(Pending pending, CancellationToken cancellationToken)
        {
            _unanswered[pending.Context] = pending;
            try
            {
                await _channel.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false); // synchronous while there is room
            }
            catch
            {
                Forget(pending);
                throw;
            }

            if (Stopped)
            {
                // raced with Stop: make sure the caller is answered (Stop may have drained before the write)
                Fail(pending, new InvalidOperationException($"The flow serving '{_owner._procedure}' stopped before answering."));
            }
        }

        public bool Stopped => _stopped;

        public void Forget(Pending pending) => _unanswered.TryRemove(new KeyValuePair<RpcContext, Pending>(pending.Context, pending));

        private void Complete((TResponse Response, RpcContext Context) answer)
        {
            if (answer.Context is not null && _unanswered.TryRemove(answer.Context, out var pending))
            {
                pending.Promise.TrySetResult(answer.Response);
            }
            else
            {
                _owner._logger?.FlowAnswerDiscarded(_owner._procedure);
            }
        }

        private void Stop(Exception? cause)
        {
            _stopped = true;
            _channel.Writer.TryComplete();
            var error = new InvalidOperationException($"The flow serving '{_owner._procedure}' stopped before answering.", cause);
            if (cause is not null)
            {
                _owner._logger?.FlowFailed(cause, _owner._procedure);
            }

            // Every request that entered this run and has no answer yet: in the channel, inside the flow's
            // stages, or between the two.
            foreach (var pending in _unanswered.Values)
            {
                Fail(pending, error);
            }
        }

        private void Fail(Pending pending, Exception error)
        {
            Forget(pending);
            pending.Promise.TrySetException(error);
        }
    }
}
