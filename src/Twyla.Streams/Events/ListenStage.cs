using System.Collections.Concurrent;
using System.Text.Json;
using Akka.Streams;
using Akka.Streams.Stage;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Events;

/// <summary>
/// The listen source: consumes one listener queue through an <see cref="IConsumerSession"/>, emits each valid
/// delivery as an <see cref="Event{T}"/> on demand and turns settlements into transport calls. Acks are batched
/// with <c>multiple=true</c> up to the contiguous settled watermark; transport calls are made one at a time.
/// Invalid payloads are dead-lettered here and never emitted.
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
    private readonly JsonSerializerOptions _json;
    private readonly ILogger _logger;

    public ListenStage(
        IEventTransport transport, ListenerTopology topology, ListenSettings settings, JsonSerializerOptions json, ILogger logger)
    {
        _transport = transport;
        _topology = topology;
        _settings = settings;
        _json = json;
        _logger = logger;
        Shape = new SourceShape<Event<T>>(Out);
    }

    public Outlet<Event<T>> Out { get; } = new("Listen.out");

    public override SourceShape<Event<T>> Shape { get; }

    protected override Attributes InitialAttributes { get; } = Attributes.CreateName("twyla-listen");

    public override ILogicAndMaterializedValue<IListenControl> CreateLogicAndMaterializedValue(Attributes inheritedAttributes)
    {
        var control = new ListenControl();
        var logic = new Logic(this, control);
        return new LogicAndMaterializedValue<IListenControl>(logic, control);
    }

    private enum Phase
    {
        Starting,
        Running,
        Draining,
        Closing,
    }

    private enum EntryState
    {
        Open,
        Acked,
        OpPending,
        Done,
    }

    private enum OpKind
    {
        Ack,
        Reject,
        Drop,
        StopConsuming,
        Close,
    }

    private sealed class Entry(TransportDelivery delivery)
    {
        public TransportDelivery Delivery { get; } = delivery;

        public ulong Tag => Delivery.Tag;

        public EntryState State { get; set; }

        public bool Emitted { get; set; }

        public TaskCompletionSource? Waiter { get; set; }
    }

    private sealed record Op(OpKind Kind, Entry? Entry, ulong AckTag, string? Reason, TimeSpan Delay = default);

    private sealed record SettleRequest(ulong Tag, SettleKind Kind, string? Reason, TaskCompletionSource Done);

    private sealed class Logic : TimerGraphStageLogic, IDeliveryTarget, IEventSettler, IOutHandler
    {
        private const string AckTimer = "ack";
        private const string DrainTimer = "drain";

        private readonly ListenStage<T> _stage;
        private readonly ListenControl _control;
        private readonly Queue<Entry> _buffer = new();
        private readonly LinkedList<Entry> _unsettled = new();
        private readonly Dictionary<ulong, LinkedListNode<Entry>> _byTag = [];
        private readonly Queue<Op> _ops = new();
        private readonly CancellationTokenSource _cts = new();
        private readonly CancellationTokenSource _handlers = new();
        private readonly IAsyncCallback<SettleRequest> _onSettle;
        private readonly IAsyncCallback<IConsumerSession> _onStarted;
        private readonly Action<TransportDelivery> _onDelivery;
        private readonly Action<Exception> _onFailure;
        private readonly Action<(Op Op, Exception? Error)> _onOpDone;
        private readonly ConcurrentQueue<ulong> _recordedAcks = new();
        private readonly Action _onAcksRecorded;

        private Phase _phase = Phase.Starting;
        private IConsumerSession? _session;
        private bool _opRunning;
        private bool _closeRequested;
        private bool _closeStarted;
        private bool _closed;
        private ulong _ackTag;
        private int _ackPending;
        private int _emittedUnsettled;
        private Exception? _failure;
        private int _acksScheduled;
        private volatile bool _acceptingAcks;

        public Logic(ListenStage<T> stage, ListenControl control)
            : base(stage.Shape)
        {
            _stage = stage;
            _control = control;
            _onSettle = GetTypedAsyncCallback<SettleRequest>(OnSettle);
            _onStarted = GetTypedAsyncCallback<IConsumerSession>(OnStarted);
            _onDelivery = GetAsyncCallback<TransportDelivery>(OnDeliveryInStage);
            _onFailure = GetAsyncCallback<Exception>(Fail);
            _onOpDone = GetAsyncCallback<(Op Op, Exception? Error)>(OnOpDone);
            _onAcksRecorded = GetAsyncCallback(OnAcksRecorded);
            control.Attach(GetTypedAsyncCallback<ListenCommand>(OnCommand));
            SetHandler(stage.Out, this);
        }

        // ---- lifecycle --------------------------------------------------------------------------------

        public override void PreStart()
        {
            SetKeepGoing(true);
            _stage._transport
                .StartConsumerAsync(_stage._topology, _stage._settings.Prefetch, this, _cts.Token)
                .ContinueWith(
                    t =>
                    {
                        if (t.IsCompletedSuccessfully)
                        {
                            var session = t.Result;
                            _onStarted.InvokeWithFeedback(session).ContinueWith(
                                static (f, s) => _ = ((IConsumerSession)s!).DisposeAsync().AsTask(),
                                session,
                                CancellationToken.None,
                                TaskContinuationOptions.OnlyOnFaulted,
                                TaskScheduler.Default);
                        }
                        else
                        {
                            _onFailure(t.Exception?.GetBaseException() ?? new OperationCanceledException("The listener was stopped while starting."));
                        }
                    },
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
        }

        public override void PostStop()
        {
            _acceptingAcks = false;
            _cts.Cancel();
            _handlers.Cancel();
            var stopped = new EventSettlementException(
                $"The listener of queue '{_stage._topology.QueueName}' has stopped; unsettled events go back to the queue.");
            foreach (var node in _unsettled)
            {
                node.Waiter?.TrySetException(stopped);
            }

            foreach (var op in _ops)
            {
                op.Entry?.Waiter?.TrySetException(stopped);
            }

            if (_closed)
            {
                _control.Complete();
                return;
            }

            // Failure or abrupt stop: close the consumer off the stage thread; the broker requeues what is unsettled.
            var failure = _failure ?? new EventSettlementException(
                $"The listener of queue '{_stage._topology.QueueName}' stopped unexpectedly.");
            var session = _session;
            _session = null;
            if (session is null)
            {
                _control.Fail(failure);
                return;
            }

            _ = CloseSessionAsync(session).ContinueWith(
                _ => _control.Fail(failure), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        private void OnStarted(IConsumerSession session)
        {
            _session = session;
            if (_phase == Phase.Closing)
            {
                RunNextOp();
                return;
            }

            _phase = Phase.Running;
            _acceptingAcks = true;
            _stage._logger.LogDebug("Listening on queue {Queue} ({Transport})", _stage._topology.QueueName, _stage._transport.Description);
            TryEmit();
        }

        private void OnCommand(ListenCommand command)
        {
            switch (command)
            {
                case ListenCommand.Shutdown:
                    BeginClose();
                    break;
                case ListenCommand.Drain:
                    BeginDrain();
                    break;
            }
        }

        public void OnPull() => TryEmit();

        public void OnDownstreamFinish(Exception cause)
        {
            // Downstream is gone: whatever was emitted may still be settled by handlers that are running. Drain, bounded.
            BeginDrain();
        }

        private void BeginDrain()
        {
            if (_phase is Phase.Draining or Phase.Closing)
            {
                return;
            }

            if (_phase == Phase.Starting)
            {
                BeginClose();
                return;
            }

            _phase = Phase.Draining;
            CompleteOutlet();
            Enqueue(new Op(OpKind.StopConsuming, null, 0, null));
            if (_emittedUnsettled == 0)
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
            if (_phase == Phase.Closing)
            {
                return;
            }

            // Acks recorded until now still go out with the last batch; later ones take the slow path and fail.
            _acceptingAcks = false;
            _handlers.Cancel(); // handlers still running are cut short: their events go back to the queue
            DrainRecordedAcks();
            var starting = _phase == Phase.Starting;
            _phase = Phase.Closing;
            CompleteOutlet();
            CancelTimer(DrainTimer);
            _closeRequested = true;
            if (starting)
            {
                // Give up the start; a session that still arrives is closed by OnStarted, a start that fails (or is
                // cancelled) completes the stage through Fail.
                _cts.Cancel();
                return;
            }

            FlushAcks();
            RunNextOp();
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
            if (_closeStarted || _closed)
            {
                return; // we are closing the consumer ourselves: its shutdown is expected
            }

            if (_closeRequested && _session is null)
            {
                // Stopped while starting and the start then failed or was given up: nothing to close, a normal stop.
                _closed = true;
                CompleteStage();
                return;
            }

            var failure = cause as ListenException ?? new ListenException(
                cause.Message.Contains(_stage._topology.QueueName, StringComparison.Ordinal)
                    ? cause.Message
                    : $"The listener of queue '{_stage._topology.QueueName}' failed: {cause.Message}",
                cause);
            _failure ??= failure;
            FailStage(failure);
        }

        protected override void OnTimer(object timerKey)
        {
            switch (timerKey)
            {
                case AckTimer:
                    FlushAcks();
                    break;
                case DrainTimer:
                    _stage._logger.LogWarning(
                        "Drain of queue {Queue} timed out after {Timeout} with {Count} events unsettled; they go back to the queue",
                        _stage._topology.QueueName, _stage._settings.DrainTimeout, _emittedUnsettled);
                    BeginClose();
                    break;
            }
        }

        // ---- deliveries -------------------------------------------------------------------------------

        void IDeliveryTarget.OnDelivery(TransportDelivery delivery) => _onDelivery(delivery);

        void IDeliveryTarget.OnConsumerFailed(Exception cause) => _onFailure(cause);

        private void OnDeliveryInStage(TransportDelivery delivery)
        {
            if (_phase == Phase.Closing)
            {
                return; // the session is closing: the broker requeues it
            }

            var entry = new Entry(delivery);
            var node = InsertInTagOrder(entry);
            _byTag[entry.Tag] = node;
            _buffer.Enqueue(entry);
            TryEmit();
        }

        private LinkedListNode<Entry> InsertInTagOrder(Entry entry)
        {
            var after = _unsettled.Last;
            while (after is not null && after.Value.Tag > entry.Tag)
            {
                after = after.Previous;
            }

            return after is null ? _unsettled.AddFirst(entry) : _unsettled.AddAfter(after, entry);
        }

        private void TryEmit()
        {
            while (_phase == Phase.Running && _buffer.Count > 0 && IsAvailable(_stage.Out))
            {
                var entry = _buffer.Dequeue();
                var evt = Decode(entry);
                if (evt is null)
                {
                    continue;
                }

                entry.Emitted = true;
                _emittedUnsettled++;
                Push(_stage.Out, evt);
            }
        }

        private Event<T>? Decode(Entry entry)
        {
            var delivery = entry.Delivery;
            var envelope = delivery.Envelope;
            if (envelope is null)
            {
                DropInvalid(entry, null, delivery.DecodeError ?? "the message could not be decoded");
                return null;
            }

            T? payload;
            try
            {
                payload = JsonSerializer.Deserialize<T>(envelope.Data.Span, _stage._json);
            }
            catch (Exception ex) when (ex is JsonException or NotSupportedException or InvalidOperationException or ArgumentException)
            {
                DropInvalid(entry, envelope, $"the payload does not match the contract {typeof(T).Name}: {ex.Message}");
                return null;
            }

            if (payload is null || payload is JsonElement { ValueKind: JsonValueKind.Null })
            {
                DropInvalid(entry, envelope, $"the payload is null; the contract {typeof(T).Name} requires a value");
                return null;
            }

            return new Event<T>(
                payload, envelope.Metadata, delivery.Redelivered, delivery.DeliveryCount, delivery.LastFailure, this, delivery.Tag,
                envelope.TraceParent, envelope.TraceState, _handlers.Token);
        }

        private void DropInvalid(Entry entry, EventEnvelope? envelope, string reason)
        {
            _stage._logger.LogWarning(
                "Dead-lettering event {EventId} ({EventName}) from queue {Queue}: {Reason}",
                envelope?.Metadata.Id ?? "(unknown id)", envelope?.Metadata.Name ?? entry.Delivery.RoutingKey, _stage._topology.QueueName, reason);
            entry.State = EntryState.OpPending;
            Enqueue(new Op(OpKind.Drop, entry, 0, reason));
        }

        // ---- settlements ------------------------------------------------------------------------------

        Task IEventSettler.SettleAsync(ulong tag, SettleKind kind, string? reason)
        {
            if (kind == SettleKind.Ack && _acceptingAcks)
            {
                // Fast path (see the remarks on the class): record, wake the stage once per burst, done. An ack that
                // races with the start of a close may be recorded after the last batch went out: the broker then
                // delivers the event again, as when a batch's flush fails (at-least-once).
                _recordedAcks.Enqueue(tag);
                if (Interlocked.Exchange(ref _acksScheduled, 1) == 0)
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
            if (_phase == Phase.Draining && _emittedUnsettled == 0)
            {
                BeginClose();
            }
        }

        private void DrainRecordedAcks()
        {
            // Reset before draining: an ack enqueued after the reset schedules the next drain itself.
            Volatile.Write(ref _acksScheduled, 0);
            while (_recordedAcks.TryDequeue(out var tag))
            {
                // Only events emitted by this stage and still open; anything else was settled already or is gone.
                if (_phase != Phase.Closing && _byTag.TryGetValue(tag, out var node) && node.Value is { Emitted: true, State: EntryState.Open } entry)
                {
                    _emittedUnsettled--;
                    MarkAcked(entry);
                }
            }
        }

        /// <summary>
        /// An ack is done for its caller once recorded: it reaches the broker with the next batch. Waiting for the
        /// batch would hold handler slots hostage to the flush timer; if the flush fails, the stage fails and the
        /// broker redelivers (at-least-once).
        /// </summary>
        private void MarkAcked(Entry entry)
        {
            entry.State = EntryState.Acked;
            AdvanceWatermark();
        }

        private void OnSettle(SettleRequest request)
        {
            if (_phase == Phase.Closing || !_byTag.TryGetValue(request.Tag, out var node) || !node.Value.Emitted)
            {
                request.Done.TrySetException(new EventSettlementException(
                    $"The listener of queue '{_stage._topology.QueueName}' is closing; the event goes back to the queue."));
                return;
            }

            var entry = node.Value;
            if (entry.State != EntryState.Open)
            {
                request.Done.TrySetResult();
                return;
            }

            _emittedUnsettled--;
            if (request.Kind == SettleKind.Ack)
            {
                // Acks take the fast path while the stage accepts them; this one came another way.
                request.Done.TrySetResult();
                MarkAcked(entry);
            }
            else
            {
                entry.Waiter = request.Done;
                entry.State = EntryState.OpPending;
                Enqueue(request.Kind == SettleKind.Reject
                    ? new Op(OpKind.Reject, entry, 0, request.Reason, _stage._settings.Retry.DelayAfter(entry.Delivery.DeliveryCount))
                    : new Op(OpKind.Drop, entry, 0, request.Reason));
            }

            CloseIfDrained();
        }

        private void AdvanceWatermark()
        {
            var advanced = false;
            while (_unsettled.First is { } first && first.Value.State is EntryState.Acked or EntryState.Done)
            {
                var entry = first.Value;
                _unsettled.RemoveFirst();
                _byTag.Remove(entry.Tag);
                if (entry.State == EntryState.Acked)
                {
                    _ackTag = entry.Tag;
                    _ackPending++;
                    advanced = true;
                }
            }

            if (!advanced)
            {
                return;
            }

            // Flush when the batch is full or when the oldest recorded ack has waited AckFlushDelay. Not when nothing
            // emitted is pending: under a steady stream each event is handled before the next one arrives, so that
            // rule sent one ack per event and the broker paid for every one.
            if (_ackPending >= _stage._settings.AckBatchSize || _phase != Phase.Running)
            {
                FlushAcks();
            }
            else if (!IsTimerActive(AckTimer))
            {
                ScheduleOnce(AckTimer, _stage._settings.AckFlushDelay);
            }
        }

        private void FlushAcks()
        {
            CancelTimer(AckTimer);
            if (_ackTag == 0)
            {
                return;
            }

            Enqueue(new Op(OpKind.Ack, null, _ackTag, null));
            _ackTag = 0;
            _ackPending = 0;
        }

        // ---- transport calls, one at a time ----------------------------------------------------------

        private void Enqueue(Op op)
        {
            _ops.Enqueue(op);
            RunNextOp();
        }

        private void RunNextOp()
        {
            if (_opRunning || _session is null || _closeStarted)
            {
                return;
            }

            Op op;
            if (_ops.Count > 0)
            {
                op = _ops.Dequeue();
            }
            else if (_closeRequested)
            {
                _closeStarted = true;
                op = new Op(OpKind.Close, null, 0, null);
            }
            else
            {
                return;
            }

            _opRunning = true;
            Task task;
            try
            {
                task = Start(op, _session);
            }
            catch (Exception ex)
            {
                task = Task.FromException(ex);
            }

            if (task.IsCompleted)
            {
                OnOpDone((op, task.Exception?.GetBaseException()));
            }
            else
            {
                task.ContinueWith(
                    t => _onOpDone((op, t.Exception?.GetBaseException() ?? (t.IsCanceled ? new OperationCanceledException() : null))),
                    CancellationToken.None,
                    TaskContinuationOptions.ExecuteSynchronously,
                    TaskScheduler.Default);
            }
        }

        private Task Start(Op op, IConsumerSession session) => op.Kind switch
        {
            OpKind.Ack => session.AckAsync(op.AckTag, multiple: true, _cts.Token),
            OpKind.Reject => session.RejectAsync(op.Entry!.Delivery, op.Delay, op.Reason ?? "rejected", _cts.Token),
            OpKind.Drop => session.DropAsync(op.Entry!.Delivery, op.Reason!, _cts.Token),
            OpKind.StopConsuming => session.StopConsumingAsync(_cts.Token),
            _ => CloseSessionAsync(session),
        };

        private void OnOpDone((Op Op, Exception? Error) done)
        {
            _opRunning = false;
            var (op, error) = done;
            if (op.Kind == OpKind.Close)
            {
                if (error is not null)
                {
                    _stage._logger.LogWarning(error, "Closing the consumer of queue {Queue} failed", _stage._topology.QueueName);
                }

                _session = null;
                _closed = true;
                CompleteStage();
                return;
            }

            if (error is not null)
            {
                var failure = new EventSettlementException(
                    $"{op.Kind} on queue '{_stage._topology.QueueName}' failed: {error.Message}", error);
                op.Entry?.Waiter?.TrySetException(failure);
                Fail(error);
                return;
            }

            op.Entry?.Waiter?.TrySetResult();
            if (op.Entry is { } entry)
            {
                entry.State = EntryState.Done;
                AdvanceWatermark();
            }

            RunNextOp();
        }

        private static async Task CloseSessionAsync(IConsumerSession session)
        {
            var dispose = session.DisposeAsync().AsTask();
            await Task.WhenAny(dispose, Task.Delay(TimeSpan.FromSeconds(10))).ConfigureAwait(false);
        }
    }
}
