using Microsoft.Extensions.Configuration;
using System.Text.Json;
using Twyla.Streams.Events;
using Xunit;

namespace Twyla.Cli.Tests;

/// <summary><c>twyla emit</c>, <c>twyla listen</c>, and how every command finds (and names) the broker.</summary>
public sealed class BrokerCommandTests
{
    private readonly CliHarness _twyla = new();

    [Fact]
    public async Task Listen_should_print_emitted_events_with_their_metadata_and_leave_no_queue_behind()
    {
        var invocation = new Invocation(_twyla.Configuration(), "");
        var listening = invocation.Error.WaitForAsync("(Ctrl+C to stop)");
        var listen = CliHarness.RunAsync(invocation, ["listen", "cli.*", "--count", "2", "--json"]);
        var status = await listening.WaitAsync(TimeSpan.FromSeconds(30));
        var queue = status.Split("temporary queue ")[1].Split(' ')[0];
        Assert.True(await _twyla.QueueExistsAsync(queue));

        var emitted = await _twyla.RunAsync("emit", "cli.checked", "--data", """{"n":1}""", "--json");
        Assert.True(emitted.Code == ExitCodes.Ok, emitted.ToString());
        var metadata = JsonSerializer.Deserialize<EventMetadata>(emitted.Out, JsonSerializerOptions.Web)!;
        Assert.Equal("twyla-cli", metadata.Source);
        await using (var bus = _twyla.Bus("other-service"))
        {
            await bus.EmitAsync("other.ignored", new { n = 0 }); // does not match the pattern
            await bus.EmitAsync("cli.derived", new { n = 2 });
        }

        var result = await listen.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(result.Code == ExitCodes.Ok, result.ToString());
        var lines = result.Out.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.Equal(2, lines.Count);
        Assert.Equal(metadata.Id, lines[0].GetProperty("id").GetString());
        Assert.Equal("cli.checked", lines[0].GetProperty("name").GetString());
        Assert.Equal(1, lines[0].GetProperty("data").GetProperty("n").GetInt32());
        Assert.Equal("other-service", lines[1].GetProperty("source").GetString());
        Assert.False(await _twyla.QueueExistsAsync(queue));
    }

    [Fact]
    public async Task Listen_should_print_a_table_line_per_event_until_cancelled()
    {
        using var stop = new CancellationTokenSource();
        var invocation = new Invocation(_twyla.Configuration(), "");
        var listening = invocation.Error.WaitForAsync("(Ctrl+C to stop)");
        var heard = invocation.Output.WaitForAsync("cli.tailed");
        var listen = CliHarness.RunAsync(invocation, ["listen", "cli.tailed"], stop.Token);
        await listening.WaitAsync(TimeSpan.FromSeconds(30));
        var emitted = await _twyla.RunAsync("emit", "cli.tailed", "--data", """{"pnr":"A1B2"}""");
        Assert.True(emitted.Code == ExitCodes.Ok, emitted.ToString());
        var text = await heard.WaitAsync(TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        var result = await listen.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(ExitCodes.Ok, result.Code);
        Assert.Contains("source=twyla-cli", text, StringComparison.Ordinal);
        Assert.Contains("""{"pnr":"A1B2"}""", result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Emit_should_refuse_data_that_is_not_json()
    {
        var result = await _twyla.RunAsync("emit", "cli.checked", "--data", "{not json");
        Assert.Equal(ExitCodes.Invalid, result.Code);
        Assert.StartsWith("twyla: --data is not JSON", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_uri_option_should_win_over_the_environment_and_credentials_should_never_be_printed()
    {
        // Port 1 on loopback refuses: the message names the broker without user or password.
        var result = await _twyla.RunAsync("--uri", "amqp://operator:s3cret-pw@127.0.0.1:1/ops", "topology", "--event", "a.b", "--group", "c");
        Assert.Equal(ExitCodes.Broker, result.Code);
        Assert.Contains("amqp://127.0.0.1:1/ops", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pw", result.Error + result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("operator", result.Error + result.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_classic_TWYLA_AMQP_variables_should_name_the_broker_as_they_do_for_a_service()
    {
        // Issue 14: the tool reads the broker like a service does, TWYLA_AMQP_* included (no Twyla__Amqp__Uri here).
        var broker = new Uri(_twyla.Uri);
        var credentials = Uri.UnescapeDataString(broker.UserInfo).Split(':', 2);
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Twyla:Exchange"] = _twyla.Configuration(withEnvironment: false)["Twyla:Exchange"],
                ["TWYLA_AMQP_HOST"] = broker.Host,
                ["TWYLA_AMQP_PORT"] = broker.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["TWYLA_AMQP_USER"] = credentials[0],
                ["TWYLA_AMQP_PASS"] = credentials[1],
            })
            .Build();

        var result = await CliHarness.RunAsync(new Invocation(configuration, ""), ["topology", "--event", "cli.classic", "--group", "never-declared", "--json"]);

        Assert.True(result.Code == ExitCodes.Ok, result.ToString());
        using var rows = JsonDocument.Parse(result.Out);
        Assert.False(rows.RootElement[0].GetProperty("exists").GetBoolean());
        Assert.DoesNotContain(credentials[1], result.Out + result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_configured_broker_every_command_should_say_how_to_name_one()
    {
        var result = await CliHarness.RunAsync(new Invocation(_twyla.Configuration(withEnvironment: false), ""), ["emit", "cli.checked", "--data", "{}"]);
        Assert.Equal(ExitCodes.Broker, result.Code);
        Assert.Contains("Twyla__Amqp__Uri", result.Error, StringComparison.Ordinal);
        Assert.Contains("--uri", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("dead-letters", "purge", "--yes")]
    [InlineData("dead-letters", "list", "--take")]
    [InlineData("listen", "--count", "Ctrl+C")]
    [InlineData("topology", "--group", "--json")]
    [InlineData("contracts", "check", "--schema")]
    [InlineData("contracts", "list", "--event")]
    public async Task Help_should_describe_each_command(string command, string sub, string expected)
    {
        var args = command is "dead-letters" or "contracts" ? new[] { command, sub, "--help" } : [command, "--help"];
        var result = await CliHarness.RunAsync(new Invocation(_twyla.Configuration(withEnvironment: false), ""), args);
        Assert.Equal(ExitCodes.Ok, result.Code);
        Assert.Contains(expected, result.Out, StringComparison.Ordinal);
        Assert.Contains("--uri", result.Out, StringComparison.Ordinal);
    }
}
