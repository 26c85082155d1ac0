using System.Collections.Concurrent;
using System.Threading.Channels;
using Akka;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>
/// Runs the requests of all callers of a flow-served procedure through ONE materialization of the flow: a
/// bounded channel in front (callers wait when it is full, within their deadline), and a FIFO of pending
/// promises that pairs the flow's outputs with its inputs in order. When the flow stops, every pending caller
/// fails and the next request materializes the flow anew.
/// </summary>
internal sealed class RpcFlowRunner<TRequest, TResponse>
{
    private readonly string _procedure;
    private readonly Flow<TRequest, TResponse, NotUsed> _flow;
    private readonly int _bufferSize;
    private readonly ILogger? _logger;
    private readonly Lock _gate = new();
    private Run? _current;
    private readonly StartedMaterializer _materializer;
    private readonly Func<ActorSystem> _system;

    public RpcFlowRunner(string procedure, Flow<TRequest, TResponse, NotUsed> flow, int bufferSize, IServiceProvider services)
    {
        _procedure = procedure;
        _flow = flow;
        _bufferSize = bufferSize;
        _materializer = new StartedMaterializer("rpc-" + procedure);
        _system = services.GetRequiredService<ActorSystem>;
        _logger = services.GetService<ILoggerFactory>()?.CreateLogger("Twyla.Streams.Hosting.Rpc");
    }

    public async Task<TResponse> InvokeAsync(TRequest request, CancellationToken cancellationToken)
    {
        var pending = new Pending(request);
        // Awaited, not blocked on: see StartedMaterializer.
        var materializer = await _materializer.GetAsync(_system).WaitAsync(cancellationToken).ConfigureAwait(false);
        for (var attempt = 1; ; attempt++)
        {
            var run = Current(materializer);
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

        return await pending.Promise.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
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

            _current = new Run(this, materializer); // the materializer's supervisor runs: this does not block
            return _current;
        }
    }

    private sealed class Pending(TRequest request)
    {
        public TRequest Request { get; } = request;

        public TaskCompletionSource<TResponse> Promise { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private sealed class Run
    {
        private readonly Channel<Pending> _channel;
        private readonly ConcurrentQueue<Pending> _inFlight = new();
        private readonly ConcurrentDictionary<Pending, byte> _unanswered = new();
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
                .Select(p =>
                {
                    _inFlight.Enqueue(p);
                    return p.Request;
                })
                .Via(owner._flow)
                .Named("rpc-flow-" + owner._procedure)
                .RunWith(Sink.ForEach<TResponse>(Complete), materializer);
            done.ContinueWith(t => Stop(t.Exception?.GetBaseException()), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        public async ValueTask EnqueueAsync(Pending pending, CancellationToken cancellationToken)
        {
            _unanswered[pending] = 0;
            try
            {
                await _channel.Writer.WriteAsync(pending, cancellationToken).ConfigureAwait(false); // synchronous while there is room
            }
            catch
            {
                _unanswered.TryRemove(pending, out _);
                throw;
            }

            if (Stopped)
            {
                // raced with Stop: make sure the caller is answered (Stop may have drained before the write)
                Fail(pending, new InvalidOperationException($"The flow serving '{_owner._procedure}' stopped before answering."));
            }
        }

        public bool Stopped => _stopped;

        private void Complete(TResponse response)
        {
            if (_inFlight.TryDequeue(out var pending))
            {
                _unanswered.TryRemove(pending, out _);
                pending.Promise.TrySetResult(response);
            }
            else
            {
                _owner._logger?.LogError(
                    "The flow serving {Procedure} emitted more responses than it received requests; a served flow must emit exactly one response per request, in order",
                    _owner._procedure);
            }
        }

        private void Stop(Exception? cause)
        {
            _stopped = true;
            _channel.Writer.TryComplete();
            var error = new InvalidOperationException($"The flow serving '{_owner._procedure}' stopped before answering.", cause);
            if (cause is not null)
            {
                _owner._logger?.LogError(cause, "The flow serving {Procedure} failed; the next request restarts it", _owner._procedure);
            }

            // Every request that entered this run and has no answer yet: in the channel, inside the flow's
            // stages, or between the two.
            foreach (var pending in _unanswered.Keys)
            {
                Fail(pending, error);
            }
        }

        private void Fail(Pending pending, Exception error)
        {
            _unanswered.TryRemove(pending, out _);
            pending.Promise.TrySetException(error);
        }
    }
}
