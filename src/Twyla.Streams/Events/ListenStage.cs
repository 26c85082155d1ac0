using System.Text.Json;
using Akka.Streams;
using Akka.Streams.Stage;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Events;

/// <summary>
/// The listen source: consumes one listener queue through an <see cref="IConsumerSession"/>, emits each valid delivery
/// as an <see cref="Event{T}"/> on demand and turns settlements into transport calls. The stage is the wiring; its state
/// lives in plain classes: <see cref="ListenLifecycle"/> (the phase), <see cref="DeliveryBuffer{T}"/> (deliveries waiting
/// for demand), <see cref="AckLedger"/> (what is unsettled), <see cref="ListenSettler"/> and <see cref="AckInbox"/>
/// (settlements from any thread), <see cref="ListenSettlements"/>, <see cref="ListenCalls"/> (one transport call at a
/// time) and <see cref="ListenerTelemetry"/>. Other threads come in through async callbacks, except fast-path acks.
/// </summary>
internal sealed class ListenStage<T>(
    IEventTransport transport, ListenerTopology topology, ListenSettings settings, JsonSerializerOptions json, ILogger logger)
    : GraphStageWithMaterializedValue<SourceShape<Event<T>>, IListenControl>
{
    private readonly EventDecoder<T> _decoder = new(json);

    public override SourceShape<Event<T>> Shape { get; } = new(new Outlet<Event<T>>("Listen.out"));

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("twyla-listen");

    public override ILogicAndMaterializedValue<IListenControl> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var control = new ListenControl();
        return new LogicAndMaterializedValue<IListenControl>(new Logic(this, transport, topology, settings, logger, control), control);
    }

    private sealed class Logic : TimerGraphStageLogic, IDeliveryTarget, IOutHandler
    {
        private const string AckTimer = "ack";
        private const string DrainTimer = "drain";

        private readonly IEventTransport _transport;
        private readonly ListenerTopology _topology;
        private readonly ListenSettings _settings;
        private readonly ILogger _logger;
        private readonly ListenControl _control;
        private readonly Outlet<Event<T>> _out;
        private readonly ListenLifecycle _lifecycle = new();
        private readonly AckLedger _ledger;
        private readonly AckInbox _inbox = new();
        private readonly DeliveryBuffer<T> _buffer;
        private readonly ListenSettlements _settlements;
        private readonly ListenCalls _calls;
        private readonly CancellationTokenSource _cts = new();
        private readonly CancellationTokenSource _handlers = new();
        private readonly Action<TransportDelivery> _onDelivery;
        private readonly Action<Exception> _onFailure;
        private readonly Action<ulong> _onAckRecorded;
        private readonly ListenerTelemetry _telemetry;
        private Exception? _failure;

        public Logic(ListenStage<T> stage, IEventTransport transport, ListenerTopology topology, ListenSettings settings, ILogger logger, ListenControl control)
            : base(stage.Shape)
        {
            (_transport, _topology, _settings, _logger, _control, _out) = (transport, topology, settings, logger, control, stage.Shape.Outlet);
            _ledger = new AckLedger(settings.AckBatchSize);
            _telemetry = new ListenerTelemetry(transport.Messaging, topology, logger);
            var settler = new ListenSettler(_inbox, GetAsyncCallback(CloseIfDrained), GetTypedAsyncCallback<SettleRequest>(OnSettle).InvokeWithFeedback, _telemetry);
            _buffer = new DeliveryBuffer<T>(_ledger, stage._decoder, settler, _handlers.Token);
            _settlements = new ListenSettlements(_ledger, _lifecycle, settings.Retry, Queue);
            _calls = new ListenCalls(Queue, _lifecycle, OnCallDone, GetAsyncCallback<(ListenCall Call, Exception? Error)>(OnCallDone), _cts.Token);
            _onDelivery = GetAsyncCallback<TransportDelivery>(OnDeliveryInStage);
            _onFailure = GetAsyncCallback<Exception>(Fail);
            _onAckRecorded = tag => OnWatermark(_lifecycle.IsOpen && _ledger.Ack(tag)); // one delegate, not one per drain
            control.Attach(GetTypedAsyncCallback<ListenCommand>(c => (c == ListenCommand.Shutdown ? (Action)BeginClose : BeginDrain)()));
            SetHandler(_out, this);
        }

        private string Queue => _topology.QueueName;

        public override void PreStart()
        {
            SetKeepGoing(true);
            SessionHandOver.HandOver(
                _transport.StartConsumerAsync(_topology, _settings.Prefetch, this, _cts.Token),
                GetTypedAsyncCallback<IConsumerSession>(OnStarted),
                _onFailure,
                "The listener was stopped while starting.");
        }

        public override void PostStop()
        {
            _inbox.IsOpen = false;
            _telemetry.Stopped();
            _cts.Cancel();
            _ = _handlers.CancelAsync(); // never on the stage thread: a handler's callbacks and continuations would run here
            var closing = _calls.AbandonAsync(
                _ledger.Unsettled, new EventSettlementException($"The listener of queue '{Queue}' has stopped; unsettled events go back to the queue."));
            if (_lifecycle.IsClosed)
            {
                _control.Complete();
                return;
            }

            // A failure or an abrupt stop: the listener fails once the session is closed.
            var failure = _failure ?? new EventSettlementException($"The listener of queue '{Queue}' stopped unexpectedly.");
            _ = closing.ContinueWith(
                _ => _control.Fail(failure), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        private void OnStarted(IConsumerSession session)
        {
            _calls.Session = session;
            if (!_lifecycle.Started())
            {
                _calls.RunNext(); // stopped while starting: close it
                return;
            }

            _inbox.IsOpen = true;
            _control.Started();
            ListenLog.Listening(_logger, Queue, _transport.Description);
            TryEmit();
        }

        public void OnPull() => TryEmit();

        // Downstream is gone: whatever was emitted may still be settled by handlers that are running. Drain, bounded.
        public void OnDownstreamFinish(Exception cause) => BeginDrain();

        private void BeginDrain()
        {
            var step = _lifecycle.Drain();
            if (step == DrainStep.Drain)
            {
                CompleteOutlet();
                _calls.Enqueue(new ListenCall(ListenCallKind.StopConsuming));
                ScheduleOnce(DrainTimer, _settings.DrainTimeout); // the close cancels it
            }

            if (step == DrainStep.Close || (step == DrainStep.Drain && _ledger.EmittedUnsettled == 0))
            {
                BeginClose();
            }
        }

        private void BeginClose()
        {
            if (_lifecycle.IsOpen)
            {
                // Acks recorded until now still go out with the last batch; later ones take the slow path and fail.
                _inbox.IsOpen = false;
                DrainRecordedAcks();
            }

            var step = _lifecycle.Close();
            if (step == CloseStep.None)
            {
                return;
            }

            _ = _handlers.CancelAsync(); // handlers still running are cut short (their callbacks run off the stage thread); their events go back
            CompleteOutlet();
            CancelTimer(DrainTimer);
            if (step == CloseStep.GiveUpStart)
            {
                _cts.Cancel(); // a session that still arrives is closed by OnStarted; a start that fails (or is cancelled) ends in Fail
                return;
            }

            FlushAcks();
            _calls.RunNext();
        }

        private void CompleteOutlet()
        {
            if (!IsClosed(_out))
            {
                Complete(_out);
            }
        }

        private void Fail(Exception cause)
        {
            var step = _lifecycle.Failed(hasSession: _calls.Session is not null);
            if (step == FailStep.Complete)
            {
                CompleteStage();
            }
            else if (step == FailStep.Fail)
            {
                FailStage(_failure ??= ListenException.OfQueue(Queue, cause));
            }
        }

        protected override void OnTimer(object timerKey)
        {
            if (timerKey is DrainTimer)
            {
                ListenLog.DrainTimedOut(_logger, Queue, _settings.DrainTimeout, _ledger.EmittedUnsettled);
                BeginClose();
            }
            else
            {
                FlushAcks();
            }
        }

        void IDeliveryTarget.OnDelivery(TransportDelivery delivery) => _onDelivery(delivery);

        void IDeliveryTarget.OnConsumerFailed(Exception cause) => _onFailure(cause);

        private void OnDeliveryInStage(TransportDelivery delivery)
        {
            if (_lifecycle.IsOpen) // else the session is closing: the broker requeues it
            {
                _buffer.Add(delivery);
                TryEmit();
            }
        }

        private void TryEmit()
        {
            while (_lifecycle.IsRunning && _buffer.HasWaiting && IsAvailable(_out))
            {
                if (_buffer.TakeNext(out var entry, out var reason) is { } next)
                {
                    _telemetry.HandedOut(next.Metadata);
                    Push(_out, next);
                }
                else
                {
                    _telemetry.Invalid(entry.Delivery, reason);
                    ListenLog.DeadLettering(_logger, entry.Delivery, Queue, reason);
                    _calls.Enqueue(new ListenCall(ListenCallKind.Drop, entry, Reason: reason));
                }
            }
        }

        private void CloseIfDrained()
        {
            DrainRecordedAcks();
            if (_lifecycle.IsDrained(_ledger.EmittedUnsettled))
            {
                BeginClose();
            }
        }

        private void DrainRecordedAcks() => _inbox.Drain(_onAckRecorded);

        private void OnWatermark(bool advanced)
        {
            if (advanced && _ledger.FlushNow(_lifecycle.IsRunning))
            {
                FlushAcks();
            }
            else if (advanced && !IsTimerActive(AckTimer))
            {
                ScheduleOnce(AckTimer, _settings.AckFlushDelay); // the oldest recorded ack waits at most AckFlushDelay
            }
        }

        private void OnSettle(SettleRequest request)
        {
            OnWatermark(_settlements.Settle(request, _calls.Enqueue));
            CloseIfDrained();
        }

        private void FlushAcks()
        {
            CancelTimer(AckTimer);
            if (_ledger.HasPendingAck)
            {
                _calls.Enqueue(new ListenCall(ListenCallKind.Ack, AckTag: _ledger.TakeAck()));
            }
        }

        private void OnCallDone((ListenCall Call, Exception? Error) done)
        {
            var (call, error) = done;
            _calls.Completed(call, error);
            if (call.Kind == ListenCallKind.Close)
            {
                if (error is not null)
                {
                    ListenLog.CloseFailed(_logger, error, Queue);
                }

                _lifecycle.SessionClosed();
                CompleteStage();
            }
            else if (error is not null)
            {
                Fail(error);
            }
            else
            {
                OnWatermark(call.Entry is { } entry && _ledger.Done(entry));
                _calls.RunNext();
            }
        }
    }
}
