using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using Akka.Streams;
using Akka.Streams.Dsl;
using Akka.TestKit.Xunit2;
using Twyla.Streams.Contracts;
using Twyla.Streams.Diagnostics;
using Twyla.Streams.Emit;
using Twyla.Streams.Events;
using Twyla.Streams.Testing;
using Xunit;

namespace Twyla.Streams.Tests.Contracts;

/// <summary>The contract a consumer of the tests requires: both members (constructor parameters).</summary>
public sealed record Invoice(string Number, decimal Amount);

/// <summary>A producer's view of the same event, without the amount: a payload the consumer dead-letters.</summary>
public sealed record InvoiceWithoutAmount(string Number);

/// <summary>Version 2 of a contract whose listeners accept versions 1 and 2.</summary>
[ContractVersion(2, Accepts = [1, 2])]
public sealed record Refund(string Number);

/// <summary>
/// Two services on one in-memory broker (two buses): the consumer's listener announces its group's contract, the
/// producer discovers it and checks its payloads against it before they are sent.
/// </summary>
public sealed class ContractDiscoveryTests : TestKit, IAsyncLifetime
{
    private readonly EventBus _billing = EventBus.InMemory(EventBusSettings.Create("billing"));
    private readonly EventBus _shop;
    private readonly IMaterializer _mat;

    public ContractDiscoveryTests()
    {
        _shop = EventBus.InMemory(EventBusSettings.Create("shop"), _billing);
        _mat = Sys.Materializer();
    }

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _shop.DisposeAsync();
        await _billing.DisposeAsync();
    }

    [Fact]
    public async Task A_listener_should_announce_its_group_contract_and_another_bus_should_discover_it()
    {
        var before = DateTimeOffset.UtcNow;
        var listener = await StartAsync<Invoice>(_billing, "invoice.*", "ledger");

        var discovered = await _shop.DiscoverContractsAsync("invoice.created");

        var contract = Assert.Single(discovered.Groups);
        Assert.Equal(("billing", "ledger", "invoice.*"), (contract.Service, contract.Group, contract.Pattern));
        Assert.False(contract.AcceptsAnything);
        Assert.Equal([1], contract.Versions);
        Assert.Equal(["number", "amount"], contract.Schema!["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.True(contract.AnnouncedAt >= before.AddSeconds(-1));
        Assert.Equal(64, contract.ContentHash.Length);
        Assert.Empty((await _shop.DiscoverContractsAsync("order.created")).Groups);
        await listener.ShutdownAsync();
    }

    [Fact]
    public async Task An_untyped_listener_should_announce_that_it_accepts_anything()
    {
        var listener = await StartAsync<JsonElement>(_billing, "invoice.created", "audit");

        var contract = Assert.Single((await _shop.DiscoverContractsAsync("invoice.created")).Groups);

        Assert.True(contract.AcceptsAnything);
        Assert.Null(contract.Schema);
        Assert.True(contract.Accepts(7));
        await listener.ShutdownAsync();
    }

    [Fact]
    public async Task Restarting_a_listener_with_an_unchanged_contract_should_not_announce_it_again()
    {
        var first = await StartAsync<Invoice>(_billing, "invoice.created", "ledger");
        await first.ShutdownAsync();
        var second = await StartAsync<Invoice>(_billing, "invoice.created", "ledger");

        var log = await _billing.Transport.ReadContractsAsync(CancellationToken.None);

        Assert.Single(log, r => r.Kind == ContractRecord.GroupKind);
        await second.ShutdownAsync();
    }

    [Fact]
    public async Task A_retired_group_should_disappear_until_a_listener_of_it_starts_again()
    {
        var listener = await StartAsync<Invoice>(_billing, "invoice.created", "ledger");
        await listener.ShutdownAsync();

        await _billing.RetireGroupAsync("invoice.created", "ledger", CancellationToken.None);

        Assert.Empty((await _shop.DiscoverContractsAsync("invoice.created")).Groups);
        var again = await StartAsync<Invoice>(_billing, "invoice.created", "ledger");
        Assert.Single((await _shop.DiscoverContractsAsync("invoice.created")).Groups);
        await again.ShutdownAsync();
    }

    [Fact]
    public async Task The_pre_emit_check_should_refuse_a_payload_a_group_requires_more_of_naming_the_group_service_and_member()
    {
        var ledger = new ConcurrentQueue<string>();
        var mailer = new ConcurrentQueue<string>();
        await StartAsync<Invoice>(_billing, "invoice.created", "ledger", i => ledger.Enqueue(i.Number));
        await StartAsync<InvoiceWithoutAmount>(_billing, "invoice.created", "mailer", i => mailer.Enqueue(i.Number));
        var checking = EmitSettings.Default.WithContractCheck(true);

        var refused = await Assert.ThrowsAsync<EmitException>(
            () => _shop.EmitAsync(OutgoingEvent.Create("invoice.created", new InvoiceWithoutAmount("I-1")), checking, CancellationToken.None));

        Assert.Contains("group 'ledger'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("service 'billing'", refused.Message, StringComparison.Ordinal);
        Assert.Contains("'/amount'", refused.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("mailer", refused.Message, StringComparison.Ordinal);

        // A payload every group accepts goes out, through EmitAsync and through a checking sink.
        await _shop.EmitAsync(OutgoingEvent.Create("invoice.created", new Invoice("I-2", 10m)), checking, CancellationToken.None);
        await Source.Single(new Invoice("I-3", 12m)).RunWith(_shop.Emit<Invoice>("invoice.created", checking), _mat);

        // Had I-1 been sent, both queues (first in, first out) would have delivered it before I-2.
        await AwaitConditionAsync(() => Task.FromResult(ledger.Count == 2 && mailer.Count == 2), TimeSpan.FromSeconds(10));
        Assert.Equal(["I-2", "I-3"], mailer);
        Assert.Equal(["I-2", "I-3"], ledger);
        Assert.Equal(0, await _billing.CountDeadLettersAsync("invoice.created", "ledger"));

        // A checking sink fails on the refused payload, naming the group.
        var sinkFailure = await Assert.ThrowsAsync<EmitException>(
            () => Source.Single(new InvoiceWithoutAmount("I-4")).RunWith(_shop.Emit<InvoiceWithoutAmount>("invoice.created", checking), _mat));
        Assert.Contains("group 'ledger'", sinkFailure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_payload_the_check_refuses_should_start_no_publish_span()
    {
        var name = "invoice.traced" + Guid.NewGuid().ToString("N")[..8];
        var publishes = new ConcurrentQueue<string>();
        using var tracing = new ActivityListener
        {
            ShouldListenTo = source => source.Name == EventTracing.ActivitySourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                if (a.DisplayName == $"{name} publish")
                {
                    publishes.Enqueue(a.GetTagItem(TelemetryTags.MessageId) as string ?? a.DisplayName);
                }
            },
        };
        ActivitySource.AddActivityListener(tracing);
        await StartAsync<Invoice>(_billing, name, "ledger");
        var checking = EmitSettings.Default.WithContractCheck(true);

        await Assert.ThrowsAsync<EmitException>(
            () => _shop.EmitAsync(OutgoingEvent.Create(name, new InvoiceWithoutAmount("I-1")), checking, CancellationToken.None));
        var accepted = await _shop.EmitAsync(OutgoingEvent.Create(name, new Invoice("I-2", 10m)), checking, CancellationToken.None);

        Assert.Equal([accepted.Id], publishes);
    }

    [Fact]
    public async Task Without_the_check_the_same_payload_should_go_out_and_be_dead_lettered_by_the_group()
    {
        await StartAsync<Invoice>(_billing, "invoice.created", "ledger");

        await _shop.EmitAsync("invoice.created", new InvoiceWithoutAmount("I-1"));

        await AwaitConditionAsync(async () => await _billing.CountDeadLettersAsync("invoice.created", "ledger") == 1, TimeSpan.FromSeconds(10));
        var letter = Assert.Single(await _billing.PeekDeadLettersAsync("invoice.created", "ledger"));
        Assert.Contains("amount", letter.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Typed_emits_should_carry_the_declared_version_and_discovery_should_show_versions_no_group_accepts()
    {
        var received = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var listener = _billing.Listen<Refund>("refund.created", "ledger")
            .Via(AckOnCompletion.Flow<Refund>(e =>
            {
                received.TrySetResult(e.Metadata.Version);
                return Task.CompletedTask;
            }, AckOnCompletionSettings.Default))
            .To(Sink.Ignore<HandledEvent>())
            .Run(_mat);
        await listener.Ready;

        await _shop.EmitAsync("refund.created", new Refund("R-1"));
        Assert.Equal(2, await received.Task.WaitAsync(TimeSpan.FromSeconds(10)));
        await Source.Single(new Refund("R-2")).RunWith(_shop.Emit<Refund>("refund.created", EmitSettings.Default.WithDataVersion(3)), _mat);

        var discovered = await AwaitDiscoveryAsync("refund.created", d => d.Producers.Count == 2);
        var group = Assert.Single(discovered.Groups);
        Assert.Equal([1, 2], group.Versions);
        Assert.Equal([2, 3], discovered.Producers.Select(p => p.Version));
        Assert.All(discovered.Producers, p => Assert.Equal("shop", p.Service));
        var unaccepted = Assert.Single(discovered.UnacceptedProducers);
        Assert.Equal(3, unaccepted.Version);
        await listener.ShutdownAsync();
    }

    [Fact]
    public async Task Discovering_all_groups_should_list_every_announced_group_whatever_its_events_until_it_is_retired()
    {
        var ledger = await StartAsync<Invoice>(_billing, "invoice.*", "ledger");
        var audit = await StartAsync<JsonElement>(_billing, "refund.created", "audit");
        var mailer = await StartAsync<InvoiceWithoutAmount>(_billing, "invoice.created", "mailer");

        var all = await _shop.DiscoverGroupContractsAsync();

        Assert.Equal(
            [("invoice.*", "ledger"), ("invoice.created", "mailer"), ("refund.created", "audit")],
            all.Select(g => (g.Pattern, g.Group)));
        Assert.True(all[2].AcceptsAnything);
        Assert.Equal(["number"], all[1].Schema!["required"]!.AsArray().Select(n => n!.GetValue<string>()));

        await _billing.RetireGroupAsync("invoice.created", "mailer", CancellationToken.None);
        Assert.Equal(["ledger", "audit"], (await _shop.DiscoverGroupContractsAsync()).Select(g => g.Group));
        await Task.WhenAll(ledger.ShutdownAsync(), audit.ShutdownAsync(), mailer.ShutdownAsync());
    }

    [Fact]
    public async Task The_pre_emit_checks_cache_should_be_refreshed_in_the_background_once_it_is_older_than_its_refresh_time()
    {
        // The guard the bus uses, with a clock of the test's: checks read the cache, a stale cache is refreshed
        // behind the check that found it stale, and the check after the refresh sees the new group.
        var clock = new ManualClock();
        var discoveries = 0;
        var guard = new ContractGuard(
            (name, ct) =>
            {
                Interlocked.Increment(ref discoveries);
                return _shop.DiscoverContractsAsync(name, ct);
            },
            EventBusSettings.DefaultJsonOptions,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance,
            clock);
        await StartAsync<InvoiceWithoutAmount>(_billing, "invoice.created", "mailer");
        await AwaitDiscoveryAsync("invoice.created", d => d.Groups.Count == 1);
        var withoutAmount = new InvoiceWithoutAmount("I-1");

        await guard.CheckAsync("invoice.created", withoutAmount, CancellationToken.None);
        await StartAsync<Invoice>(_billing, "invoice.created", "ledger"); // a new group that requires the amount
        await AwaitDiscoveryAsync("invoice.created", d => d.Groups.Count == 2);
        await guard.CheckAsync("invoice.created", withoutAmount, CancellationToken.None); // cached: the ledger is not known yet
        Assert.Equal(1, Volatile.Read(ref discoveries));

        clock.Advance(ContractGuard.RefreshAfter);
        await guard.CheckAsync("invoice.created", withoutAmount, CancellationToken.None); // stale: answered from the cache, refreshed behind it
        await AwaitConditionAsync(() => Task.FromResult(Volatile.Read(ref discoveries) == 2), TimeSpan.FromSeconds(10));
        EmitException? refused = null;
        await AwaitConditionAsync(
            async () =>
            {
                try
                {
                    await guard.CheckAsync("invoice.created", withoutAmount, CancellationToken.None);
                    return false; // the refresh stores its result right after discovering: not yet
                }
                catch (EmitException e)
                {
                    refused = e;
                    return true;
                }
            },
            TimeSpan.FromSeconds(10));
        Assert.Contains("ledger", refused!.Message, StringComparison.Ordinal);
        Assert.Equal(2, Volatile.Read(ref discoveries)); // one refresh, not one per check
    }

    /// <summary>A clock the test moves.</summary>
    private sealed class ManualClock : TimeProvider
    {
        private DateTimeOffset _now = new(2026, 11, 30, 0, 0, 0, TimeSpan.Zero);

        public override DateTimeOffset GetUtcNow() => _now;

        public void Advance(TimeSpan by) => _now += by;
    }

    private Task<IListenControl> StartAsync<T>(EventBus bus, string pattern, string group) => StartAsync<T>(bus, pattern, group, _ => { });

    private Task<IListenControl> StartAsync<T>(EventBus bus, string pattern, string group, Action<T> handle) =>
        Listeners.StartAsync(bus, pattern, group, handle, _mat);

    private async Task<DiscoveredContracts> AwaitDiscoveryAsync(string eventName, Func<DiscoveredContracts, bool> done)
    {
        DiscoveredContracts discovered = await _shop.DiscoverContractsAsync(eventName);
        await AwaitConditionAsync(
            async () => done(discovered = await _shop.DiscoverContractsAsync(eventName)), TimeSpan.FromSeconds(10));
        return discovered;
    }
}
