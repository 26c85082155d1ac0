using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Streams;
using Akka.TestKit.Xunit2;
using Microsoft.Extensions.Logging;
using Twyla.Streams.Contracts;
using Twyla.Streams.Emit;
using Twyla.Streams.Testing;
using Xunit;

namespace Twyla.Streams.Tests.Contracts;

/// <summary>A recursive payload type: refers to itself through a member, which consumes a level of the payload.</summary>
public sealed record TreeNode(string Name, TreeNode? Next);

/// <summary>
/// Any service can write into the contract log, so an announced schema is untrusted: schemas that refer to themselves
/// without consuming input, or that JsonSchema.Net cannot read, must neither crash the process nor break checked emits.
/// </summary>
public sealed class UntrustedContractTests : TestKit, IAsyncLifetime
{
    private const string NotConsuming = "refers to itself without consuming input";

    private readonly LogLines _log = new();
    private readonly EventBus _billing = EventBus.InMemory(EventBusSettings.Create("billing"));
    private readonly EventBus _shop;
    private readonly IMaterializer _mat;

    public UntrustedContractTests()
    {
        _shop = EventBus.InMemory(EventBusSettings.Create("shop").WithLoggerFactory(_log), _billing);
        _mat = Sys.Materializer();
    }

    public static TheoryData<string> SelfReferences => new()
    {
        """{"allOf":[{"$ref":"#"}]}""",
        """{"anyOf":[{"$ref":"#"}]}""",
        """{"oneOf":[{"type":"string"},{"$ref":"#"}]}""",
        """{"not":{"$ref":"#"}}""",
        """{"if":{"$ref":"#"},"then":true}""",
        """{"$defs":{"a":{"allOf":[{"$ref":"#/$defs/b"}]},"b":{"anyOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}""",
        """{"type":"object","properties":{"x":{"dependentSchemas":{"y":{"$ref":"#/properties/x"}}}}}""",
    };

    public static TheoryData<string> Unreadable => new()
    {
        """{"allOf":[{"$ref":"#"}]}""",
        """{"anyOf":[{"$ref":"#"}]}""",
        """{"$ref":"#"}""",
        """{"type":"object","properties":{"number":{"type":"string","pattern":"("}}}""",
        "\"zzz\"",
        """{"type":"frobnicate"}""",
        """{"$ref":"#/$defs/nope"}""",
        """{"$ref":"https://contracts.twyla.invalid/elsewhere"}""",
    };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        await _shop.DisposeAsync();
        await _billing.DisposeAsync();
    }

    [Theory]
    [MemberData(nameof(SelfReferences))]
    public void The_compatibility_check_should_report_a_schema_that_refers_to_itself_without_consuming_input(string schema)
    {
        var invoice = ContractSchema.For<Invoice>(EventBusSettings.DefaultJsonOptions);

        var asProducer = ContractCompatibility.Check(JsonNode.Parse(schema)!, invoice);
        var asConsumer = ContractCompatibility.Check(invoice, JsonNode.Parse(schema)!);

        Assert.Contains(asProducer.Problems, p => p.Path == "" && p.Reason.Contains("producer's schema", StringComparison.Ordinal) && p.Reason.Contains(NotConsuming, StringComparison.Ordinal));
        Assert.Contains(asConsumer.Problems, p => p.Path == "" && p.Reason.Contains("consumer's schema", StringComparison.Ordinal) && p.Reason.Contains(NotConsuming, StringComparison.Ordinal));
    }

    [Fact]
    public void A_recursive_type_should_still_be_compatible_with_itself()
    {
        var tree = ContractSchema.For<TreeNode>(EventBusSettings.DefaultJsonOptions);

        Assert.True(ContractCompatibility.Check(tree, ContractSchema.For<TreeNode>(EventBusSettings.DefaultJsonOptions)).IsCompatible);
    }

    [Theory]
    [MemberData(nameof(Unreadable))]
    public async Task A_checked_emit_should_skip_a_group_whose_contract_cannot_be_read_and_still_apply_the_others(string schema)
    {
        var ledger = new ConcurrentQueue<string>();
        await StartAsync<Invoice>("ledger", i => ledger.Enqueue(i.Number));
        await StartAsync<JsonElement>("forged", _ => { });
        await ForgeAsync("forged", JsonNode.Parse(schema)!);
        var checking = EmitSettings.Default.WithContractCheck(true);

        await _shop.EmitAsync(OutgoingEvent.Create("invoice.created", new Invoice("I-1", 10m)), checking, CancellationToken.None);
        await _shop.EmitAsync(OutgoingEvent.Create("invoice.created", new Invoice("I-2", 11m)), checking, CancellationToken.None);
        await using (var other = EventBus.InMemory(EventBusSettings.Create("pos"), _billing))
        {
            await other.EmitAsync(OutgoingEvent.Create("invoice.created", new Invoice("I-3", 12m)), checking, CancellationToken.None);
        }

        var refused = await Assert.ThrowsAsync<EmitException>(
            () => _shop.EmitAsync(OutgoingEvent.Create("invoice.created", new InvoiceWithoutAmount("I-4")), checking, CancellationToken.None));
        Assert.Contains("group 'ledger'", refused.Message, StringComparison.Ordinal);

        await AwaitConditionAsync(() => Task.FromResult(ledger.Count == 3), TimeSpan.FromSeconds(10));
        Assert.Equal(["I-1", "I-2", "I-3"], ledger);
        var warning = Assert.Single(_log.Lines, l => l.Level == LogLevel.Warning && l.Message.Contains("group 'forged'", StringComparison.Ordinal));
        Assert.Contains("skips", warning.Message, StringComparison.Ordinal);
    }

    /// <summary>Writes a group announcement of service 'mallory' into the shared contract log, as any service can.</summary>
    private Task ForgeAsync(string group, JsonNode schema) =>
        _billing.Transport.AppendContractAsync(
            new ContractRecord
            {
                Kind = ContractRecord.GroupKind,
                Service = "mallory",
                Pattern = "invoice.created",
                Group = group,
                Schema = schema,
                Versions = [1],
                Hash = ContractRecord.ContentHash(schema, [1]),
                At = DateTimeOffset.UtcNow,
            },
            CancellationToken.None);

    private Task StartAsync<T>(string group, Action<T> handle) => Listeners.StartAsync(_billing, "invoice.created", group, handle, _mat);

    /// <summary>Keeps every formatted log line, to assert the warning a user would read.</summary>
    private sealed class LogLines : ILoggerFactory
    {
        private readonly ConcurrentQueue<(LogLevel Level, string Message)> _lines = new();

        public IReadOnlyList<(LogLevel Level, string Message)> Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => new Logger(_lines);

        public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException();

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<(LogLevel Level, string Message)> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                lines.Enqueue((logLevel, formatter(state, exception)));
        }
    }
}
