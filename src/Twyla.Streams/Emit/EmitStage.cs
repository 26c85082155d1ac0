using System.Diagnostics;
using Akka.Streams;
using Akka.Streams.Stage;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Emit;

/// <summary>
/// Publishes each outgoing event through one <see cref="IPublisherSession"/> and emits its metadata, in input
/// order, once the broker confirmed it. At most <see cref="EmitSettings.MaxInFlight"/> events await their confirm;
/// a confirm that takes longer than the transport's confirm timeout (<c>RabbitMqSettings.ConfirmTimeout</c>) fails the stage.
/// </summary>
internal sealed class EmitStage<T> : GraphStage<FlowShape<OutgoingEvent<T>, EventMetadata>>
{
    private readonly IEventTransport _transport;
    private readonly EmitSettings _settings;
    private readonly EventBusSettings _busSettings;

    public EmitStage(IEventTransport transport, EmitSettings settings, EventBusSettings busSettings)
    {
        _transport = transport;
        _settings = settings;
        _busSettings = busSettings;
        Shape = new FlowShape<OutgoingEvent<T>, EventMetadata>(In, Out);
    }

    public Inlet<OutgoingEvent<T>> In { get; } = new("Emit.in");

    public Outlet<EventMetadata> Out { get; } = new("Emit.out");

    public override FlowShape<OutgoingEvent<T>, EventMetadata> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("twyla-emit");

    protected override GraphStageLogic CreateLogic(Attributes inheritedAttributes) => new Logic(this);

    private sealed class Pending(EventEnvelope envelope, long started, Activity? span)
    {
        public EventEnvelope Envelope { get; } = envelope;

        public long Started { get; } = started;

        /// <summary>The publish span, ended with the broker's answer.</summary>
        public Activity? Span { get; } = span;

        /// <summary>Whether its outcome was recorded (once per emit).</summary>
        public bool Answered { get; set; }

        public bool Done { get; set; }

        /// <summary>How the publish ended (<c>null</c>: confirmed), set when it completed.</summary>
        public Exception? Error { get; set; }
    }

    private sealed class Logic : TimerGraphStageLogic, IInHandler, IOutHandler
    {
        private const string ConfirmTimer = "confirm";

        private readonly EmitStage<T> _stage;
        private readonly Queue<Pending> _pending = new();
        private readonly CancellationTokenSource _cts = new();
        private readonly CancellationTokenSource _opening;
        private readonly IAsyncCallback<IPublisherSession> _onOpened;
        private readonly Action<Exception> _onOpenFailed;
        private readonly Action<Pending> _onPublished;
        private IPublisherSession? _session;
        private readonly TimeSpan _confirmTimeout;

        public Logic(EmitStage<T> stage)
            : base(stage.Shape)
        {
            _stage = stage;
            _opening = CancellationTokenSource.CreateLinkedTokenSource(_cts.Token);
            _confirmTimeout = stage._transport.ConfirmTimeout;
            _onOpened = GetTypedAsyncCallback<IPublisherSession>(OnOpened);
            _onOpenFailed = GetAsyncCallback<Exception>(ex => FailStage(new EmitException(
                ex is OperationCanceledException && _opening.IsCancellationRequested && !_cts.IsCancellationRequested
                    ? $"Could not open a publisher on {_stage._transport.Description} within {_confirmTimeout} " +
                      "(the confirm timeout): the broker did not answer (it blocks publishers during a memory or disk alarm)."
                    : $"Could not open a publisher on {_stage._transport.Description}: {ex.Message}",
                ex)));
            _onPublished = GetAsyncCallback<Pending>(OnPublished);
            SetHandler(stage.In, this);
            SetHandler(stage.Out, this);
        }

        public override void PreStart()
        {
            // Opening is bounded by the confirm timeout too: a broker that blocks publishers does not answer channel.open.
            _opening.CancelAfter(_confirmTimeout);
            SessionHandOver.HandOver(_stage._transport.OpenPublisherAsync(_opening.Token), _onOpened, _onOpenFailed, "The emit stage was stopped while opening its publisher.");
        }

        public override void PostStop()
        {
            foreach (var entry in _pending)
            {
                Answered(entry, EmitTelemetry.Failed, "the emit stage stopped before the broker answered");
            }

            _cts.Cancel();
            if (_session is { } session)
            {
                _session = null;
                _ = session.DisposeAsync().AsTask();
            }
        }

        private void OnOpened(IPublisherSession session)
        {
            _opening.CancelAfter(Timeout.InfiniteTimeSpan);
            _session = session;

            // The session does not time publishes out (a timer per publish); this stage does, with one repeating timer
            // (none when the transport sets no limit).
            if (_confirmTimeout != Timeout.InfiniteTimeSpan)
            {
                ScheduleRepeatedly(ConfirmTimer, TimeSpan.FromTicks(Math.Clamp(
                    _confirmTimeout.Ticks / 4, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks)));
            }
            PullIfRoom();
        }

        public void OnPush()
        {
            var outgoing = Grab(_stage.In);
            var previous = Activity.Current;
            var envelope = EnvelopeFactory.Create(outgoing, _stage._busSettings, _stage._transport.Messaging, out var span);
            if (span is not null)
            {
                Activity.Current = previous; // the span ends with the confirm; the stage's thread does not stay inside it
            }
            var entry = new Pending(envelope, Stopwatch.GetTimestamp(), span);
            _pending.Enqueue(entry);
            Task publish;
            try
            {
                // No token: a publish is given up by this stage's confirm timer or its stop, both of which close the
                // session, and that fails every publish still waiting (a token would cost a registration per publish).
                publish = _session!.PublishAsync(envelope, _stage._settings.Mandatory, CancellationToken.None);
            }
            catch (Exception ex)
            {
                publish = Task.FromException(ex);
            }

            if (publish.IsCompleted)
            {
                entry.Error = Error(publish);
                OnPublished(entry);
            }
            else
            {
                // An awaiter continuation runs where the confirm completes the task, as ContinueWith(ExecuteSynchronously)
                // did, for one delegate per publish instead of a closure, a delegate, a continuation task and a boxed tuple.
                var completion = publish.ConfigureAwait(false).GetAwaiter();
                completion.UnsafeOnCompleted(() =>
                {
                    entry.Error = Error(publish);
                    _onPublished(entry);
                });
                PullIfRoom();
            }
        }

        public void OnUpstreamFinish()
        {
            if (_pending.Count == 0)
            {
                CompleteStage();
            }
        }

        public void OnUpstreamFailure(Exception e) => FailStage(e);

        public void OnPull() => PushDone();

        public void OnDownstreamFinish(Exception cause) => CompleteStage();

        protected override void OnTimer(object timerKey)
        {
            // Entries are queued in the order they started: the first one still waiting is the oldest.
            foreach (var entry in _pending)
            {
                if (entry.Done)
                {
                    continue;
                }

                if (Stopwatch.GetElapsedTime(entry.Started) > _confirmTimeout)
                {
                    var meta = entry.Envelope.Metadata;
                    Answered(entry, EmitTelemetry.TimedOut, "not confirmed within the confirm timeout");
                    FailStage(new EmitException(
                        $"Event {meta.Id} ({meta.Name}) was not confirmed by the broker within {_confirmTimeout}; it may or may not have been delivered."));
                }

                return;
            }
        }

        private void OnPublished(Pending entry)
        {
            var error = entry.Error;
            if (error is not null)
            {
                var meta = entry.Envelope.Metadata;
                Answered(entry, error is OperationCanceledException ? EmitTelemetry.Failed : EmitTelemetry.Classify(error), error.Message);
                FailStage(error switch
                {
                    EmitException emit => emit, // the transport's message already names the event
                    OperationCanceledException when _cts.IsCancellationRequested => new EmitException(
                        $"Event {meta.Id} ({meta.Name}) was not emitted: the emit stage stopped before the broker confirmed it.", error),
                    _ => new EmitException($"Event {meta.Id} ({meta.Name}) was not emitted: {error.Message}", error),
                });
                return;
            }

            entry.Done = true;
            Answered(entry, EmitTelemetry.Confirmed, null);
            PushDone();
        }

        /// <summary>Records the emit's outcome and ends its publish span.</summary>
        private void Answered(Pending entry, string outcome, string? message)
        {
            if (entry.Answered)
            {
                return;
            }

            entry.Answered = true;
            EmitTelemetry.Record(_stage._transport.Messaging, entry.Envelope.Metadata, entry.Started, outcome);
            EventTracing.EndPublish(entry.Span, outcome, message);
        }

        private void PushDone()
        {
            if (_pending.Count > 0 && _pending.Peek().Done && IsAvailable(_stage.Out))
            {
                Push(_stage.Out, _pending.Dequeue().Envelope.Metadata);
            }

            if (_pending.Count == 0 && IsClosed(_stage.In))
            {
                CompleteStage();
                return;
            }

            PullIfRoom();
        }

        private void PullIfRoom()
        {
            if (_session is not null && _pending.Count < _stage._settings.MaxInFlight && !HasBeenPulled(_stage.In) && !IsClosed(_stage.In))
            {
                Pull(_stage.In);
            }
        }

        private static Exception? Error(Task task) =>
            task.IsFaulted ? task.Exception!.GetBaseException() : task.IsCanceled ? new OperationCanceledException() : null;
    }
}
