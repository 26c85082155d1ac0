using System.Text.Json;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams;
using Twyla.Streams.Contracts;
using Twyla.Streams.Events;
using Xunit;

namespace Twyla.Cli.Tests;

/// <summary>
/// <c>twyla contracts list|check</c> and <c>twyla topology</c> on groups whose running listeners announced their contracts:
/// <c>billing</c> (service <c>billing-svc</c>) requires a booking id and seats, <c>audit</c> (service <c>audit-svc</c>) takes
/// any payload of every <c>booking.*</c> event.
/// </summary>
public sealed class ContractCommandTests : IAsyncLifetime
{
    private const string Event = "booking.created";
    private readonly CliHarness _twyla = new();
    private readonly List<string> _files = [];
    private readonly ActorSystem _system = ActorSystem.Create("cli-contract-tests");
    private EventBus _billing = null!;
    private EventBus _audit = null!;
    private IListenControl _billingListener = null!;
    private IListenControl _auditListener = null!;

    public async Task InitializeAsync()
    {
        _billing = _twyla.Bus("billing-svc");
        _audit = _twyla.Bus("audit-svc");
        _billingListener = Start<Booking>(_billing, Event, "billing");
        _auditListener = Start<JsonElement>(_audit, "booking.*", "audit");
        await Task.WhenAll(_billingListener.Ready, _auditListener.Ready).WaitAsync(TimeSpan.FromSeconds(30));
        // A listener announces in the background once its queue is declared: wait until discovery sees both.
        await CliHarness.Eventually(() => _billing.DiscoverContractsAsync(Event), d => d.Groups.Count == 2);
    }

    public async Task DisposeAsync()
    {
        await Task.WhenAll(_billingListener.ShutdownAsync(), _auditListener.ShutdownAsync());
        await _billing.DisposeAsync();
        await _audit.DisposeAsync();
        await _system.Terminate();
        _files.ForEach(File.Delete);
    }

    [Fact]
    public async Task List_should_show_the_groups_receiving_an_event_with_service_versions_and_required_members()
    {
        var table = await _twyla.RunAsync("contracts", "list", "--event", Event);
        Assert.True(table.Code == ExitCodes.Ok, table.ToString());
        var lines = table.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(["EVENT", "GROUP", "SERVICE", "VERSIONS", "ANNOUNCED", "AT", "REQUIRED"], lines[0].Split(' ', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal(3, lines.Length);
        // By service: audit-svc, then billing-svc; columns aligned under their headers.
        Assert.Equal(["booking.*", "audit", "audit-svc", "any"], lines[1].Split("  ", StringSplitOptions.RemoveEmptyEntries)[..4].Select(c => c.Trim()));
        Assert.EndsWith("(any payload)", lines[1], StringComparison.Ordinal);
        Assert.Equal(["booking.created", "billing", "billing-svc", "1"], lines[2].Split("  ", StringSplitOptions.RemoveEmptyEntries)[..4].Select(c => c.Trim()));
        Assert.EndsWith("bookingId, seats", lines[2], StringComparison.Ordinal);
        var required = lines[0].IndexOf("REQUIRED", StringComparison.Ordinal);
        Assert.Equal("bookingId, seats", lines[2][required..]);

        var json = await _twyla.RunAsync("contracts", "list", "--event", Event, "--json");
        using var doc = JsonDocument.Parse(json.Out);
        var billing = doc.RootElement[1];
        Assert.Equal("billing-svc", billing.GetProperty("service").GetString());
        Assert.Equal(["bookingId", "seats"], billing.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("object", billing.GetProperty("schema").GetProperty("type").GetString());
        Assert.True(doc.RootElement[0].GetProperty("acceptsAnything").GetBoolean());

        var other = await _twyla.RunAsync("contracts", "list", "--event", "booking.cancelled", "--json");
        using var cancelled = JsonDocument.Parse(other.Out);
        Assert.Equal("audit", Assert.Single(cancelled.RootElement.EnumerateArray()).GetProperty("group").GetString());
    }

    [Fact]
    public async Task List_without_an_event_should_show_every_announced_group()
    {
        var mailer = Start<Cancellation>(_billing, "booking.cancelled", "mailer");
        await CliHarness.Eventually(() => _billing.DiscoverGroupContractsAsync(), all => all.Count == 3);

        var result = await _twyla.RunAsync("contracts", "list", "--json");

        Assert.True(result.Code == ExitCodes.Ok, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        Assert.Equal(
            [("booking.*", "audit"), ("booking.cancelled", "mailer"), ("booking.created", "billing")],
            doc.RootElement.EnumerateArray().Select(g => (g.GetProperty("pattern").GetString(), g.GetProperty("group").GetString())));
        await mailer.ShutdownAsync();
    }

    [Fact]
    public async Task Check_should_exit_0_when_every_group_accepts_what_the_schema_allows()
    {
        var schema = SchemaFile<BookingWithNote>(); // an extra optional member: the consumers are open

        var result = await _twyla.RunAsync("contracts", "check", "--event", Event, "--schema", schema);

        Assert.True(result.Code == ExitCodes.Ok, result.ToString());
        Assert.Contains("Every group that receives booking.created accepts what the schema allows.", result.Out, StringComparison.Ordinal);
        Assert.Contains("accepts (any payload)", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Check_should_exit_1_naming_each_rejecting_group_and_the_path_of_each_problem()
    {
        var schema = SchemaFile<BookingWithoutSeats>();

        var result = await _twyla.RunAsync("contracts", "check", "--event", Event, "--schema", schema);

        Assert.True(result.Code == ExitCodes.Invalid, result.ToString());
        Assert.Contains("billing-svc/billing (booking.created) would reject what the schema allows:\n  /seats: the consumer requires this member", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("audit-svc/audit", result.Out, StringComparison.Ordinal);
        Assert.Contains("1 of 2 groups that receive booking.created would reject", result.Out, StringComparison.Ordinal);

        var json = await _twyla.RunAsync("contracts", "check", "--event", Event, "--schema", schema, "--json");
        Assert.Equal(ExitCodes.Invalid, json.Code);
        using var doc = JsonDocument.Parse(json.Out);
        Assert.False(doc.RootElement.GetProperty("compatible").GetBoolean());
        var billing = doc.RootElement.GetProperty("groups").EnumerateArray().Single(g => g.GetProperty("group").GetString() == "billing");
        Assert.False(billing.GetProperty("compatible").GetBoolean());
        Assert.Equal("/seats", Assert.Single(billing.GetProperty("problems").EnumerateArray()).GetProperty("path").GetString());
    }

    [Fact]
    public async Task Check_should_exit_2_when_no_group_receives_the_event_or_the_schema_file_is_missing()
    {
        var schema = SchemaFile<Booking>();
        var nobody = await _twyla.RunAsync("contracts", "check", "--event", "invoice.created", "--schema", schema);
        Assert.Equal(ExitCodes.NotFound, nobody.Code);
        Assert.Contains("No listener group that receives invoice.created", nobody.Error, StringComparison.Ordinal);

        var missing = await _twyla.RunAsync("contracts", "check", "--event", Event, "--schema", schema + ".missing");
        Assert.Equal(ExitCodes.NotFound, missing.Code);
        Assert.Contains("No schema file", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Topology_should_find_the_announced_groups_without_being_told_their_names()
    {
        await using (var producer = _twyla.Bus("booking-svc"))
        {
            await producer.EmitAsync(Event, new { BookingId = "B-1", Seats = "two" }); // billing dead-letters it
        }

        await CliHarness.Eventually(() => _billing.CountDeadLettersAsync(Event, "billing"), n => n == 1);

        var result = await _twyla.RunAsync("topology", "--json");

        Assert.True(result.Code == ExitCodes.Ok, result.ToString());
        using var doc = JsonDocument.Parse(result.Out);
        var rows = doc.RootElement.EnumerateArray().ToList();
        Assert.Equal(["booking.*.audit", "booking.created.billing"], rows.Select(r => r.GetProperty("queue").GetString()));
        var billing = rows[1];
        Assert.True(billing.GetProperty("exists").GetBoolean());
        Assert.Equal(1, billing.GetProperty("consumers").GetInt32());
        Assert.Equal(1, billing.GetProperty("deadLetters").GetInt32());

        var onlyBilling = await _twyla.RunAsync("topology", "--group", "billing");
        Assert.Contains("booking.created  billing  booking.created.billing", onlyBilling.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("audit", onlyBilling.Out, StringComparison.Ordinal);
    }

    private IListenControl Start<T>(EventBus bus, string pattern, string group) =>
        bus.Listen<T>(pattern, group)
            .ToMaterialized(AckOnCompletion.Sink<T>(_ => Task.CompletedTask, AckOnCompletionSettings.Default), Keep.Left)
            .Run(_system.Materializer());

    /// <summary>A file with the schema of what a producer of <typeparamref name="T"/> sends.</summary>
    private string SchemaFile<T>()
    {
        var path = Path.Combine(Path.GetTempPath(), $"twyla-schema-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, ContractSchema.For<T>(EventBusSettings.DefaultJsonOptions).ToJsonString());
        _files.Add(path);
        return path;
    }

    private sealed record Booking(string BookingId, int Seats);

    private sealed record BookingWithNote(string BookingId, int Seats, string? Note = null);

    private sealed record BookingWithoutSeats(string BookingId);

    private sealed record Cancellation(string BookingId);
}
