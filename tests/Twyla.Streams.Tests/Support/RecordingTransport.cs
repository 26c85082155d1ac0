using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Twyla.Streams.Events;
using Twyla.Streams.Transport;

namespace Twyla.Streams.Tests.Support;

/// <summary>
/// A transport whose single consumer session is driven by the test: the test hands in deliveries and reads
/// back, in order, every call the listen stage made. It checks the AMQP rules the stage must keep: a
/// <c>multiple=true</c> ack must never cover a tag that is not settled yet.
/// </summary>
internal sealed class RecordingTransport : IEventTransport
{
    private readonly TaskCompletionSource<IDeliveryTarget> _target = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public RecordingSession Session { get; } = new();

    /// <summary>When set, the consumer start completes only once the test completes this (a slow connect).</summary>
    public TaskCompletionSource? StartGate { get; set; }

    /// <summary>Completes when the listen stage asked for its consumer.</summary>
    public Task StartRequested => _target.Task;

    public string Description => "recording";

    public TimeSpan ConfirmTimeout => Timeout.InfiniteTimeSpan;

    public Task DeclareListenerAsync(ListenerTopology topology, CancellationToken cancellationToken) => Task.CompletedTask;

    public Task<IConsumerSession> StartConsumerAsync(
        ListenerTopology topology, int prefetch, IDeliveryTarget target, CancellationToken cancellationToken)
    {
        _target.TrySetResult(target);
        return StartGate is { } gate
            ? gate.Task.ContinueWith<IConsumerSession>(_ => Session, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default)
            : Task.FromResult<IConsumerSession>(Session);
    }

    public Task<IPublisherSession> OpenPublisherAsync(CancellationToken cancellationToken) =>
        throw new NotSupportedException("The recording transport only consumes.");

    public Task<long> CountDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken) => Task.FromResult(0L);

    public Task<IReadOnlyList<DeadLetter>> ListDeadLettersAsync(ListenerTopology topology, int skip, int take, CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<DeadLetter>>([]);

    public Task<int> ReplayDeadLettersAsync(ListenerTopology topology, Func<DeadLetter, bool> filter, CancellationToken cancellationToken) =>
        Task.FromResult(0);

    public Task<long> PurgeDeadLettersAsync(ListenerTopology topology, CancellationToken cancellationToken) => Task.FromResult(0L);

    public Task<BrokerHealth> CheckHealthAsync(CancellationToken cancellationToken) => Task.FromResult(BrokerHealth.Healthy);

    /// <summary>How many appends to the contract log fail (as a lost connection does) before they succeed.</summary>
    public int AppendFailures { get; set; }

    /// <summary>What was appended to the contract log.</summary>
    public ConcurrentQueue<Twyla.Streams.Contracts.ContractRecord> Appended { get; } = new();

    public Task AppendContractAsync(Twyla.Streams.Contracts.ContractRecord record, CancellationToken cancellationToken)
    {
        if (AppendFailures-- > 0)
        {
            return Task.FromException(new BrokerException("Storing a contract failed: the broker closed the connection (504 CHANNEL_ERROR)."));
        }

        Appended.Enqueue(record);
        return Task.CompletedTask;
    }

    public Task<IReadOnlyList<Twyla.Streams.Contracts.ContractRecord>> ReadContractsAsync(CancellationToken cancellationToken) =>
        Task.FromResult<IReadOnlyList<Twyla.Streams.Contracts.ContractRecord>>([]);

    public Task<bool> GroupExistsAsync(ListenerTopology topology, CancellationToken cancellationToken) => Task.FromResult(false);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Delivers a <see cref="Probe"/> whose number is the tag.</summary>
    public Task DeliverAsync(ulong tag) => DeliverAsync(tag, Json.Of(new Probe((int)tag)));

    public async Task DeliverAsync(ulong tag, string json)
    {
        var target = await _target.Task;
        var metadata = new EventMetadata($"id-{tag}", "test.happened", $"id-{tag}", "", DateTimeOffset.UtcNow, "test", 1);
        var envelope = new EventEnvelope(metadata, Encoding.UTF8.GetBytes(json), null, null);
        target.OnDelivery(new TransportDelivery(tag, envelope, null, false, 1, "test.happened", null, Session.Handle(tag)));
    }

    internal sealed class RecordingSession : IConsumerSession
    {
        private readonly HashSet<ulong> _settled = [];
        private readonly object _gate = new();
        private readonly TaskCompletionSource _closed = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ConcurrentQueue<string> Calls { get; } = new();

        public ConcurrentQueue<string> Violations { get; } = new();

        public Task AckAsync(ulong tag, bool multiple, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                Calls.Enqueue($"ack {tag}{(multiple ? " multiple" : "")}");
                if (!multiple)
                {
                    Settle(tag);
                }
                else
                {
                    if (_settled.Contains(tag))
                    {
                        Violations.Enqueue($"ack {tag} multiple went up to a tag settled already (the broker closes the channel)");
                    }

                    for (ulong t = 1; t <= tag; t++)
                    {
                        if (_settled.Add(t) && !HandlerDone.ContainsKey(t))
                        {
                            Violations.Enqueue($"ack {tag} multiple covered tag {t}, whose handler had not finished");
                        }
                    }
                }
            }

            return Task.CompletedTask;
        }

        /// <summary>Tags whose handler finished (set by the test before it settles).</summary>
        public ConcurrentDictionary<ulong, bool> HandlerDone { get; } = new();

        /// <summary>The handle of delivery <paramref name="tag"/>: its reject or drop is recorded here.</summary>
        public IDeliveryHandle Handle(ulong tag) => new RecordingHandle(this, tag);

        public Task StopConsumingAsync(CancellationToken cancellationToken)
        {
            Calls.Enqueue("stop");
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync()
        {
            Calls.Enqueue("close");
            _closed.TrySetResult();
            return ValueTask.CompletedTask;
        }

        /// <summary>Completes when the session was closed.</summary>
        public Task Closed => _closed.Task;

        public IReadOnlyCollection<ulong> SettledTags()
        {
            lock (_gate)
            {
                return [.. _settled];
            }
        }

        private Task Record(string call, ulong tag)
        {
            lock (_gate)
            {
                Calls.Enqueue(call);
                Settle(tag);
            }

            return Task.CompletedTask;
        }

        private void Settle(ulong tag)
        {
            if (!_settled.Add(tag))
            {
                Violations.Enqueue($"tag {tag} settled twice");
            }
        }

        private sealed class RecordingHandle(RecordingSession session, ulong tag) : IDeliveryHandle
        {
            public Task RejectAsync(TimeSpan delay, string reason, CancellationToken cancellationToken) =>
                session.Record($"reject {tag} after {delay.TotalMilliseconds} ms: {reason}", tag);

            public Task DropAsync(string reason, CancellationToken cancellationToken) => session.Record($"drop {tag}: {reason}", tag);
        }
    }
}

internal sealed record Probe(int N);

internal static class Json
{
    public static string Of(object value) => JsonSerializer.Serialize(value, EventBusSettings.DefaultJsonOptions);
}
