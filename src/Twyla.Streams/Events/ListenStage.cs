using System.Text.Json;
using Akka.Streams;
using Akka.Streams.Stage;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Events;

/// <summary>
/// The listen source: consumes one listener queue through an <see cref="IConsumerSession"/>, emits each valid
/// delivery as an <see cref="Event{T}"/> on demand and turns settlements into transport calls. The stage is the
/// wiring; its state lives in plain classes: the <see cref="AckLedger"/> (what is unsettled, up to where acks go),
/// the <see cref="EventDecoder{T}"/> (payload or dead-letter reason) and the <see cref="TransportCallQueue{TCall}"/>
/// (one transport call at a time).
/// </summary>
/// <remarks>
/// An ack is done for the caller once recorded, so while the listener runs an ack takes a fast path: the tag goes
/// into a concurrent inbox, the caller's task is complete at once, and the stage drains the inbox in one async
/// callback per burst. A round trip through the stage per ack (<c>InvokeWithFeedback</c>, whose task continues on
/// the thread pool) cost two or three thread-pool hops per event and capped throughput on small machines.
/// Rejects, drops and every settlement once the listener is closing take the stage round trip, which fails fast
/// when the stage is gone.
/// </remarks>
internal sealed class ListenStage<T> : GraphStageWithMaterializedValue<SourceShape<Event<T>>, IListenControl>
{
    private readonly IEventTransport _transport;
    private readonly ListenerTopology _topology;
    private readonly ListenSettings _settings;
    private readonly EventDecoder<T> _decoder;
    private readonly ILogger _logger;

    public ListenStage(
        IEventTransport transport, ListenerTopology topology, ListenSettings settings, JsonSerializerOptions json, ILogger logger)
    {
        _transport = transport;
        _topology = topology;
        _settings = settings;
        _decoder = new EventDecoder<T>(json);
        _logger = logger;
        Shape = new SourceShape<Event<T>>(Out);
    }

    public Outlet<Event<T>> Out { get; } = new("Listen.out");

    public override SourceShape<Event<T>> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("twyla-listen");

    public override ILogicAndMaterializedValue<IListenControl> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var control = new ListenControl();
        return new LogicAndMaterializedValue<IListenControl>(new Logic(this, control), control);
    }

    /// <summary>Where the listener is; only ever moves forward.</summary>
    private enum Phase
    {
        Starting,
        Running,
        Draining,
        Closing,
        ClosingSession,
        Closed,
    }

    private sealed record SettleRequest(ulong Tag, SettleKind Kind, string? Reason, TaskCompletionSource Done);

    private sealed class Logic : TimerGraphStageLogic, IDeliveryTarget, IEventSettler, IOutHandler
    {
        private const string AckTimer = "ack";
        private const string DrainTimer = "drain";

        private readonly ListenStage<T> _stage;
        private readonly ListenControl _control;
        private readonly AckLedger _ledger;
        private readonly Queue<LedgerEntry> _buffer = new();
        private readonly ListenCalls _calls;
        private readonly CancellationTokenSource _cts = new();
        private readonly CancellationTokenSource _handlers = new();
        private readonly IAsyncCallback<SettleRequest> _onSettle;
        private readonly IAsyncCallback<IConsumerSession> _onStarted;
        private readonly Action<TransportDelivery> _onDelivery;
        private readonly Action<Exception> _onFailure;
        private readonly AckInbox _inbox = new();
        private readonly Action _onAcksRecorded;
        private readonly ListenerTelemetry _telemetry;

        private Phase _phase = Phase.Starting;
        private Exception? _failure;

        public Logic(ListenStage<T> stage, ListenControl control)
            : base(stage.Shape)
        {
            _stage = stage;
            _control = control;
            _ledger = new AckLedger(stage._settings.AckBatchSize);
            _telemetry = new ListenerTelemetry(stage._transport.Messaging, stage._topology, stage._logger);
            _onSettle = GetTypedAsyncCallback<SettleRequest>(OnSettle);
            _onStarted = GetTypedAsyncCallback<IConsumerSession>(OnStarted);
            _onDelivery = GetAsyncCallback<TransportDelivery>(OnDeliveryInStage);
            _onFailure = GetAsyncCallback<Exception>(Fail);
            _calls = new ListenCalls(OnCallDone, GetAsyncCallback<(ListenCall Call, Exception? Error)>(OnCallDone), () => _phase = Phase.ClosingSession, _cts.Token);
            _onAcksRecorded = GetAsyncCallback(OnAcksRecorded);
            control.Attach(GetTypedAsyncCallback<ListenCommand>(OnCommand));
            SetHandler(stage.Out, this);
        }

        private string Queue => _stage._topology.QueueName;

        ListenerTelemetry IEventSettler.Telemetry => _telemetry;

        // ---- lifecycle --------------------------------------------------------------------------------

        public override void PreStart()
        {
            SetKeepGoing(true);
            SessionHandOver.HandOver(
                _stage._transport.StartConsumerAsync(_stage._topology, _stage._settings.Prefetch, this, _cts.Token),
                _onStarted,
                _onFailure,
                "The listener was stopped while starting.");
        }

        public override void PostStop()
        {
            _inbox.IsOpen = false;
            _telemetry.Stopped();
            _cts.Cancel();
            _ = _handlers.CancelAsync(); // never on the stage thread: a handler's callbacks and continuations would run here
            var stopped = new EventSettlementException($"The listener of queue '{Queue}' has stopped; unsettled events go back to the queue.");
            foreach (var waiter in _ledger.Unsettled.Select(e => e.Waiter).Concat(_calls.Waiting.Select(c => c.Entry?.Waiter)))
            {
                waiter?.TrySetException(stopped);
            }

            if (_phase == Phase.Closed)
            {
                _control.Complete();
                return;
            }

            // Failure or abrupt stop: close the consumer off the stage thread; the broker requeues what is unsettled.
            var failure = _failure ?? new EventSettlementException($"The listener of queue '{Queue}' stopped unexpectedly.");
            var session = _calls.Session;
            _calls.Session = null;
            if (session is null)
            {
                _control.Fail(failure);
                return;
            }

            _ = ListenCalls.CloseAsync(session).ContinueWith(
                _ => _control.Fail(failure), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        private void OnStarted(IConsumerSession session)
        {
            _calls.Session = session;
            if (_phase == Phase.Closing)
            {
                RunNextCall(); // stopped while starting: close it
                return;
            }

            _phase = Phase.Running;
            _inbox.IsOpen = true;
            _control.Started();
            _stage._logger.LogDebug("Listening on queue {Queue} ({Transport})", Queue, _stage._transport.Description);
            TryEmit();
        }

        private void OnCommand(ListenCommand command)
        {
            if (command == ListenCommand.Shutdown)
            {
                BeginClose();
            }
            else
            {
                BeginDrain();
            }
        }

        public void OnPull() => TryEmit();

        // Downstream is gone: whatever was emitted may still be settled by handlers that are running. Drain, bounded.
        public void OnDownstreamFinish(Exception cause) => BeginDrain();

        private void BeginDrain()
        {
            if (_phase != Phase.Running)
            {
                if (_phase == Phase.Starting)
                {
                    BeginClose();
                }

                return;
            }

            _phase = Phase.Draining;
            CompleteOutlet();
            Enqueue(new ListenCall(ListenCallKind.StopConsuming));
            if (_ledger.EmittedUnsettled == 0)
            {
                BeginClose();
            }
            else
            {
                ScheduleOnce(DrainTimer, _stage._settings.DrainTimeout);
            }
        }

        private void BeginClose()
        {
            if (_phase >= Phase.Closing)
            {
                return;
            }

            // Acks recorded until now still go out with the last batch; later ones take the slow path and fail.
            _inbox.IsOpen = false;
            DrainRecordedAcks();
            var starting = _phase == Phase.Starting;
            _phase = Phase.Closing;
            _ = _handlers.CancelAsync(); // handlers still running are cut short (their callbacks run off the stage thread); their events go back
            CompleteOutlet();
            CancelTimer(DrainTimer);
            if (starting)
            {
                // Give up the start; a session that still arrives is closed by OnStarted, a start that fails (or is
                // cancelled) completes the stage through Fail.
                _cts.Cancel();
                return;
            }

            FlushAcks();
            RunNextCall();
        }

        private void CompleteOutlet()
        {
            if (!IsClosed(_stage.Out))
            {
                Complete(_stage.Out);
            }
        }

        private void Fail(Exception cause)
        {
            if (_phase >= Phase.ClosingSession)
            {
                return; // we are closing the consumer ourselves: its shutdown is expected
            }

            if (_phase == Phase.Closing && _calls.Session is null)
            {
                // Stopped while starting and the start then failed or was given up: nothing to close, a normal stop.
                _phase = Phase.Closed;
                CompleteStage();
                return;
            }

            var failure = cause as ListenException ?? new ListenException(
                cause.Message.Contains($"queue '{Queue}'", StringComparison.Ordinal) ? cause.Message : $"The listener of queue '{Queue}' failed: {cause.Message}",
                cause);
            _failure ??= failure;
            FailStage(failure);
        }

        protected override void OnTimer(object timerKey)
        {
            if (timerKey is AckTimer)
            {
                FlushAcks();
                return;
            }

            _stage._logger.LogWarning(
                "Drain of queue {Queue} timed out after {Timeout} with {Count} events unsettled; they go back to the queue",
                Queue, _stage._settings.DrainTimeout, _ledger.EmittedUnsettled);
            BeginClose();
        }

        // ---- deliveries -------------------------------------------------------------------------------

        void IDeliveryTarget.OnDelivery(TransportDelivery delivery) => _onDelivery(delivery);

        void IDeliveryTarget.OnConsumerFailed(Exception cause) => _onFailure(cause);

        private void OnDeliveryInStage(TransportDelivery delivery)
        {
            if (_phase >= Phase.Closing)
            {
                return; // the session is closing: the broker requeues it
            }

            _buffer.Enqueue(_ledger.Add(delivery));
            TryEmit();
        }

        private void TryEmit()
        {
            while (_phase == Phase.Running && _buffer.Count > 0 && IsAvailable(_stage.Out))
            {
                var entry = _buffer.Dequeue();
                var delivery = entry.Delivery;
                if (!_stage._decoder.TryDecode(delivery, out var payload, out var reason))
                {
                    _stage._logger.LogWarning(
                        "Dead-lettering event {EventId} ({EventName}) from queue {Queue}: {Reason}",
                        delivery.Envelope?.Metadata.Id ?? "(unknown id)", delivery.Envelope?.Metadata.Name ?? delivery.RoutingKey, Queue, reason);
                    _telemetry.Invalid(delivery);
                    _ledger.Pending(entry);
                    Enqueue(new ListenCall(ListenCallKind.Drop, entry, Reason: reason));
                    continue;
                }

                var envelope = delivery.Envelope!;
                _ledger.Emitted(entry);
                _telemetry.HandedOut(envelope.Metadata);
                Push(_stage.Out, new Event<T>(
                    payload, envelope.Metadata, delivery.Redelivered, delivery.DeliveryCount, delivery.LastFailure, this, delivery.Tag,
                    envelope.TraceParent, envelope.TraceState, _handlers.Token));
            }
        }

        // ---- settlements ------------------------------------------------------------------------------

        Task IEventSettler.SettleAsync(ulong tag, SettleKind kind, string? reason)
        {
            if (kind == SettleKind.Ack && _inbox.IsOpen)
            {
                // Fast path (see the remarks on the class). An ack that races with the start of a close may be recorded
                // after the last batch went out: the broker then delivers the event again (at-least-once).
                if (_inbox.Record(tag))
                {
                    _onAcksRecorded();
                }

                return Task.CompletedTask;
            }

            return SettleThroughStageAsync(tag, kind, reason);
        }

        private async Task SettleThroughStageAsync(ulong tag, SettleKind kind, string? reason)
        {
            var request = new SettleRequest(tag, kind, reason, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            await _onSettle.InvokeWithFeedback(request).ConfigureAwait(false);
            await request.Done.Task.ConfigureAwait(false);
        }

        private void OnAcksRecorded()
        {
            DrainRecordedAcks();
            CloseIfDrained();
        }

        private void CloseIfDrained()
        {
            if (_phase == Phase.Draining && _ledger.EmittedUnsettled == 0)
            {
                BeginClose();
            }
        }

        // Only events emitted by this stage and still open; anything else was settled already or is gone.
        private void DrainRecordedAcks() => _inbox.Drain(tag =>
        {
            if (_phase < Phase.Closing && _ledger.FindEmitted(tag) is { State: LedgerEntryState.Open } entry)
            {
                Acked(entry);
            }
        });

        /// <summary>
        /// An ack is done for its caller once recorded: it reaches the broker with the next batch. Waiting for the
        /// batch would hold handler slots hostage to the flush timer; if the flush fails, the stage fails and the
        /// broker redelivers (at-least-once).
        /// </summary>
        private void Acked(LedgerEntry entry) => OnWatermark(_ledger.Acked(entry));

        private void OnWatermark(bool advanced)
        {
            if (!advanced)
            {
                return;
            }

            // Flush when the batch is full or when the oldest recorded ack has waited AckFlushDelay. Not when nothing
            // emitted is pending: under a steady stream each event is handled before the next one arrives, so that
            // rule sent one ack per event and the broker paid for every one.
            if (_ledger.BatchFull || _phase != Phase.Running)
            {
                FlushAcks();
            }
            else if (!IsTimerActive(AckTimer))
            {
                ScheduleOnce(AckTimer, _stage._settings.AckFlushDelay);
            }
        }

        private void OnSettle(SettleRequest request)
        {
            if (_phase >= Phase.Closing || _ledger.FindEmitted(request.Tag) is not { } entry)
            {
                request.Done.TrySetException(new EventSettlementException($"The listener of queue '{Queue}' is closing; the event goes back to the queue."));
                return;
            }

            if (entry.State != LedgerEntryState.Open)
            {
                request.Done.TrySetResult();
                return;
            }

            if (request.Kind == SettleKind.Ack)
            {
                // Acks take the fast path while the stage accepts them; this one came another way.
                request.Done.TrySetResult();
                Acked(entry);
            }
            else
            {
                entry.Waiter = request.Done;
                _ledger.Pending(entry);
                Enqueue(request.Kind == SettleKind.Reject
                    ? new ListenCall(ListenCallKind.Reject, entry, Reason: request.Reason, Delay: _stage._settings.Retry.DelayAfter(entry.Delivery.DeliveryCount))
                    : new ListenCall(ListenCallKind.Drop, entry, Reason: request.Reason));
            }

            CloseIfDrained();
        }

        private void FlushAcks()
        {
            CancelTimer(AckTimer);
            if (_ledger.HasPendingAck)
            {
                Enqueue(new ListenCall(ListenCallKind.Ack, AckTag: _ledger.TakeAck()));
            }
        }

        // ---- transport calls, one at a time ----------------------------------------------------------

        private void Enqueue(ListenCall call)
        {
            _calls.Enqueue(call);
            RunNextCall();
        }

        private void RunNextCall()
        {
            if (_phase < Phase.ClosingSession)
            {
                _calls.RunNext(closeWhenIdle: _phase == Phase.Closing);
            }
        }

        private void OnCallDone((ListenCall Call, Exception? Error) done)
        {
            _calls.Completed();
            var (call, error) = done;
            if (call.Kind == ListenCallKind.Close)
            {
                if (error is not null)
                {
                    _stage._logger.LogWarning(error, "Closing the consumer of queue {Queue} failed", Queue);
                }

                _calls.Session = null;
                _phase = Phase.Closed;
                CompleteStage();
                return;
            }

            if (error is not null)
            {
                call.Entry?.Waiter?.TrySetException(new EventSettlementException($"{call.Kind} on queue '{Queue}' failed: {error.Message}", error));
                Fail(error);
                return;
            }

            if (call.Entry is { } entry)
            {
                entry.Waiter?.TrySetResult();
                OnWatermark(_ledger.Done(entry));
            }

            RunNextCall();
        }
    }
}
