using System.Text.Json.Nodes;
using Json.Schema;
using Twyla.Streams.Contracts;
using Xunit;

namespace Twyla.Streams.Tests.Contracts;

/// <summary>How the contract log reads: the latest contract of each group, retirements, producers, patterns.</summary>
public sealed class ContractCatalogTests
{
    [Fact]
    public void The_latest_announcement_of_a_group_should_win_and_a_retirement_should_remove_it_until_it_is_announced_again()
    {
        var v1 = Group("invoice.*", "ledger", "h1");
        var v2 = Group("invoice.*", "ledger", "h2");

        Assert.Equal("h2", Title(Assert.Single(ContractCatalog.Of([v1, v2]).GroupsReceiving("invoice.created"))));
        Assert.Empty(ContractCatalog.Of([v1, v2, ContractRecord.Retired("invoice.*", "ledger", "billing")]).GroupsReceiving("invoice.created"));
        Assert.Equal("h1", Title(Assert.Single(ContractCatalog.Of([v2, ContractRecord.Retired("invoice.*", "ledger", "billing"), v1]).GroupsReceiving("invoice.created"))));
    }

    [Fact]
    public void An_announcement_whose_hash_does_not_match_its_content_should_be_ignored_and_reported()
    {
        var genuine = Group("invoice.*", "ledger", "genuine");
        var forged = Group("invoice.*", "ledger", "forged") with { Schema = JsonNode.Parse("""{"title":"forged"}""") };
        var ignored = new List<ContractRecord>();

        var catalog = ContractCatalog.Of([genuine, forged], ignored.Add);

        Assert.Equal("genuine", Title(Assert.Single(catalog.GroupsReceiving("invoice.created"))));
        Assert.Same(forged, Assert.Single(ignored));
    }

    [Fact]
    public void Only_groups_whose_pattern_routes_the_name_should_receive_it()
    {
        var catalog = ContractCatalog.Of([
            Group("invoice.*", "ledger", "a"), Group("invoice.#", "audit", "b"), Group("order.created", "shipping", "c"), ContractRecord.Sync()]);

        Assert.Equal(["audit", "ledger"], catalog.GroupsReceiving("invoice.created").Select(r => r.Group));
        Assert.Equal(["audit"], catalog.GroupsReceiving("invoice.created.eu").Select(r => r.Group));
        Assert.Equal(["shipping"], catalog.GroupsReceiving("order.created").Select(r => r.Group));
    }

    [Fact]
    public void A_producer_version_should_be_listed_once_per_service_with_its_first_emit()
    {
        var first = ContractRecord.Producer("invoice.created", 2, "shop");
        var catalog = ContractCatalog.Of([first, ContractRecord.Producer("invoice.created", 2, "shop"), ContractRecord.Producer("invoice.created", 1, "pos")]);

        var producers = catalog.ProducersOf("invoice.created");

        Assert.Equal([("pos", 1), ("shop", 2)], producers.Select(p => (p.Service, p.Version)));
        Assert.Equal(first.At, producers[1].AnnouncedAt);
        Assert.Empty(catalog.ProducersOf("invoice.paid"));
    }

    [Fact]
    public void A_record_should_survive_its_wire_form_and_foreign_messages_should_be_skipped()
    {
        var record = Group("invoice.*", "ledger", "h1");

        var back = ContractRecord.Parse(record.ToBytes());

        Assert.Equal(record.Schema!.ToJsonString(), back!.Schema!.ToJsonString());
        Assert.Equal((record.Kind, record.GroupKey, record.Hash), (back.Kind, back.GroupKey, back.Hash));
        Assert.Null(ContractRecord.Parse("not json"u8));
        Assert.Null(ContractRecord.Parse("""{"hello":"world"}"""u8));
    }

    [Fact]
    public void A_failed_evaluation_should_name_each_missing_member_by_its_path_also_in_nested_members()
    {
        var schema = JsonNode.Parse("""
            {"type":"object","properties":{"number":{"type":"string"},
             "customer":{"type":"object","properties":{"email":{"type":"string"}},"required":["email"]}},
             "required":["number","customer"]}
            """)!;
        var instance = JsonNode.Parse("""{"customer":{}}""");

        var results = JsonSchema.FromText(schema.ToJsonString()).Evaluate(
            System.Text.Json.JsonSerializer.SerializeToElement(instance), new EvaluationOptions { OutputFormat = OutputFormat.List });
        var description = ContractGuard.Describe(results, instance, schema);

        Assert.Contains("'/number'", description, StringComparison.Ordinal);
        Assert.Contains("'/customer/email'", description, StringComparison.Ordinal);
    }

    /// <summary>A group's announcement whose schema is titled <paramref name="title"/>, with the hash of its content.</summary>
    private static ContractRecord Group(string pattern, string group, string title)
    {
        var schema = JsonNode.Parse($$"""{"title":"{{title}}","type":"object","required":["number"]}""")!;
        return new()
        {
            Kind = ContractRecord.GroupKind,
            Service = "billing",
            Pattern = pattern,
            Group = group,
            Hash = ContractRecord.ContentHash(schema, [1]),
            Versions = [1],
            Schema = schema,
            At = DateTimeOffset.UtcNow,
        };
    }

    private static string? Title(ContractRecord record) => record.Schema?["title"]?.GetValue<string>();
}
