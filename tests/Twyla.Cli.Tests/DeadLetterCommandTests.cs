using System.Text.Json;
using Akka.Actor;
using Akka.Streams;
using Akka.Streams.Dsl;
using Twyla.Streams.Events;
using Xunit;

namespace Twyla.Cli.Tests;

/// <summary><c>twyla dead-letters</c> and <c>twyla topology</c> on a group whose listener dead-lettered what it could not read.</summary>
public sealed class DeadLetterCommandTests : IAsyncLifetime
{
    private const string Pattern = "booking.created";
    private readonly CliHarness _twyla = new();
    private readonly string _group = "g-" + Guid.NewGuid().ToString("N")[..10];
    private readonly List<string> _ids = [];

    /// <summary>Three events a listener cannot parse (a text where it wants a number), dead-lettered by it, listener stopped.</summary>
    public async Task InitializeAsync()
    {
        await using var bus = _twyla.Bus("cli-tests");
        using var system = ActorSystem.Create("cli-tests");
        await bus.DeclareGroupAsync(Pattern, _group, ListenSettings.Default);
        for (var i = 0; i < 3; i++)
        {
            _ids.Add((await bus.EmitAsync(Pattern, new { Seats = $"seat {i}" })).Id);
        }

        var control = bus.Listen<Booking>(Pattern, _group)
            .ToMaterialized(AckOnCompletion.Sink<Booking>(_ => Task.CompletedTask, AckOnCompletionSettings.Default), Keep.Left)
            .Run(system.Materializer());
        await CliHarness.Eventually(() => bus.CountDeadLettersAsync(Pattern, _group), n => n == 3);
        await control.ShutdownAsync();
    }

    public Task DisposeAsync() => Task.CompletedTask;

    [Fact]
    public async Task List_should_page_the_dead_letters_with_id_time_reason_and_delivery_count()
    {
        var table = await _twyla.RunAsync("dead-letters", "list", "--event", Pattern, "--group", _group, "--take", "2");
        Assert.True(table.Code == ExitCodes.Ok, table.ToString());
        var lines = table.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.StartsWith("ID", lines[0], StringComparison.Ordinal);
        Assert.Contains("REASON", lines[0], StringComparison.Ordinal);
        Assert.StartsWith(_ids[0], lines[1], StringComparison.Ordinal);
        Assert.StartsWith(_ids[1], lines[2], StringComparison.Ordinal);
        Assert.DoesNotContain(_ids[2], table.Out, StringComparison.Ordinal);
        Assert.Contains("1-2 of 3 dead letters", lines[3], StringComparison.Ordinal);
        Assert.Contains("--skip 2", lines[3], StringComparison.Ordinal);
        // Aligned: every row's REASON starts where the header's does.
        var reasonColumn = lines[0].IndexOf("REASON", StringComparison.Ordinal);
        Assert.All(lines[1..3], line => Assert.NotEqual(' ', line[reasonColumn]));
        Assert.All(lines[1..3], line => Assert.Equal(' ', line[reasonColumn - 1]));

        var json = await _twyla.RunAsync("dead-letters", "list", "--event", Pattern, "--group", _group, "--skip", "2", "--json");
        using var doc = JsonDocument.Parse(json.Out);
        Assert.Equal(3, doc.RootElement.GetProperty("total").GetInt32());
        var item = Assert.Single(doc.RootElement.GetProperty("items").EnumerateArray());
        Assert.Equal(_ids[2], item.GetProperty("id").GetString());
        Assert.Equal(1, item.GetProperty("deliveryCount").GetInt32());
        Assert.StartsWith("the payload does not match the contract", item.GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Show_should_print_one_letter_with_its_body_and_exit_2_for_an_unknown_id()
    {
        var shown = await _twyla.RunAsync("dead-letters", "show", _ids[1], "--event", Pattern, "--group", _group);
        Assert.True(shown.Code == ExitCodes.Ok, shown.ToString());
        Assert.Contains(_ids[1], shown.Out, StringComparison.Ordinal);
        Assert.Contains("\"seats\": \"seat 1\"", shown.Out, StringComparison.Ordinal);
        Assert.Contains("reason: ", shown.Out, StringComparison.Ordinal);

        var missing = await _twyla.RunAsync("dead-letters", "show", "no-such-id", "--event", Pattern, "--group", _group);
        Assert.Equal(ExitCodes.NotFound, missing.Code);
        Assert.Contains("No dead letter no-such-id", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_should_send_one_by_id_or_those_matching_a_reason_back_to_the_queue_and_topology_should_show_them()
    {
        var one = await _twyla.RunAsync("dead-letters", "replay", _ids[0], "--event", Pattern, "--group", _group, "--json");
        Assert.True(one.Code == ExitCodes.Ok, one.ToString());
        using (var doc = JsonDocument.Parse(one.Out))
        {
            Assert.Equal(1, doc.RootElement.GetProperty("replayed").GetInt32());
            Assert.Equal(2, doc.RootElement.GetProperty("left").GetInt32());
        }

        var unknown = await _twyla.RunAsync("dead-letters", "replay", _ids[0], "--event", Pattern, "--group", _group);
        Assert.Equal(ExitCodes.NotFound, unknown.Code);

        var none = await _twyla.RunAsync("dead-letters", "replay", "--reason-contains", "no such reason", "--event", Pattern, "--group", _group);
        Assert.Contains("Replayed 0 dead letters", none.Out, StringComparison.Ordinal);
        var matching = await _twyla.RunAsync("dead-letters", "replay", "--reason-contains", "CONTRACT", "--event", Pattern, "--group", _group);
        Assert.True(matching.Code == ExitCodes.Ok, matching.ToString());
        Assert.Contains($"Replayed 2 dead letters of {Pattern}.{_group}.dead-letter to {Pattern}.{_group}; 0 left.", matching.Out, StringComparison.Ordinal);

        var topology = await _twyla.RunAsync("topology", "--event", Pattern, "--group", _group, "--group", "never-declared", "--json");
        Assert.True(topology.Code == ExitCodes.Ok, topology.ToString());
        using var rows = JsonDocument.Parse(topology.Out);
        var declared = rows.RootElement[0];
        Assert.Equal($"{Pattern}.{_group}", declared.GetProperty("queue").GetString());
        Assert.True(declared.GetProperty("exists").GetBoolean());
        Assert.Equal(3, declared.GetProperty("messages").GetInt32());
        Assert.Equal(0, declared.GetProperty("consumers").GetInt32());
        Assert.Equal(0, declared.GetProperty("deadLetters").GetInt32());
        Assert.False(rows.RootElement[1].GetProperty("exists").GetBoolean());

        var table = await _twyla.RunAsync("topology", "--event", Pattern, "--group", _group);
        Assert.Contains($"{Pattern}  {_group}  {Pattern}.{_group}  3         0          0", table.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Replay_all_should_send_every_dead_letter_of_the_group_back_to_its_queue()
    {
        var all = await _twyla.RunAsync("dead-letters", "replay", "--all", "--event", Pattern, "--group", _group, "--json");

        Assert.True(all.Code == ExitCodes.Ok, all.ToString());
        using var doc = JsonDocument.Parse(all.Out);
        Assert.Equal(_ids.Count, doc.RootElement.GetProperty("replayed").GetInt32());
        Assert.Equal(0, doc.RootElement.GetProperty("left").GetInt32());
    }

    [Fact]
    public async Task Replay_should_require_an_id_a_reason_or_all()
    {
        var result = await _twyla.RunAsync("dead-letters", "replay", "--event", Pattern, "--group", _group);
        Assert.Equal(ExitCodes.Invalid, result.Code);
        Assert.Contains("Say which letters to replay", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Purge_should_ask_first_keep_the_letters_when_not_confirmed_and_delete_them_when_confirmed()
    {
        var declined = await _twyla.RunWithInputAsync("n\n", "dead-letters", "purge", "--event", Pattern, "--group", _group);
        Assert.Equal(ExitCodes.NotConfirmed, declined.Code);
        Assert.Contains("Delete the 3 dead letters", declined.Error, StringComparison.Ordinal);
        var noAnswer = await _twyla.RunAsync("dead-letters", "purge", "--event", Pattern, "--group", _group);
        Assert.Equal(ExitCodes.NotConfirmed, noAnswer.Code);
        await using (var bus = _twyla.Bus("cli-tests"))
        {
            Assert.Equal(3, await bus.CountDeadLettersAsync(Pattern, _group));
        }

        var confirmed = await _twyla.RunWithInputAsync("y\n", "dead-letters", "purge", "--event", Pattern, "--group", _group);
        Assert.True(confirmed.Code == ExitCodes.Ok, confirmed.ToString());
        Assert.Contains("Purged 3 dead letters", confirmed.Out, StringComparison.Ordinal);
        var again = await _twyla.RunAsync("dead-letters", "purge", "--event", Pattern, "--group", _group, "--yes", "--json");
        Assert.Equal("{\n  \"queue\": \"" + $"{Pattern}.{_group}.dead-letter" + "\",\n  \"purged\": 0\n}\n", again.Out);
    }

    private sealed record Booking(int Seats);
}
