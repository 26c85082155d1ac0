using System.Diagnostics;
using Twyla.Streams.Hosting.Tests.Infrastructure;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Samples;

/// <summary>
/// The samples are what a new user runs first: both must run to the end on the embedded broker and on RabbitMQ, call
/// the procedure over HTTP, confirm the known bookings and dead-letter the invalid request and the unknown booking.
/// </summary>
public sealed class SampleTests
{
    private const string CSharp = "samples/CSharp";
    private const string FSharp = "samples/FSharp";

    private static readonly string[] AmqpVariables = ["Twyla__Amqp__Uri", "TWYLA_AMQP_HOST", "TWYLA_AMQP_PORT", "TWYLA_AMQP_USER", "TWYLA_AMQP_PASS", "TWYLA_AMQP_VHOST"];

    [Theory]
    [InlineData(CSharp)]
    [InlineData(FSharp)]
    public async Task Sample_should_run_the_booking_pipeline_and_exit_by_itself(string folder)
    {
        var text = await RunAsync(folder, amqpUri: null); // the embedded default, as in the README's run command

        Assert.Contains("events on in-memory", text, StringComparison.Ordinal);
        AssertSummary(folder, text);
    }

    [Fact]
    public async Task Samples_on_RabbitMQ_should_count_only_their_own_run_when_earlier_runs_left_dead_letters()
    {
        // The broker keeps the dead-letter queue between runs: every run after the first finds its predecessors' dead
        // letters there, and each sample runs at least once after another run.
        foreach (var folder in new[] { CSharp, FSharp, CSharp })
        {
            var text = await RunAsync(folder, Broker.Uri);

            Assert.DoesNotContain("events on in-memory", text, StringComparison.Ordinal);
            AssertSummary(folder, text);
        }
    }

    [Theory]
    [InlineData(CSharp)]
    [InlineData(FSharp)]
    public async Task Sample_with_telemetry_should_export_to_the_console_and_summarize_its_run_from_the_metrics(string folder)
    {
        var text = await RunAsync(folder, amqpUri: null, "--telemetry");

        AssertSummary(folder, text);
        Assert.Contains("Activity.DisplayName:", text, StringComparison.Ordinal); // spans on the console
        Assert.Contains("messaging.client.sent.messages", text, StringComparison.Ordinal); // metrics on the console

        // 1 invalid + 5 requests + 4 confirmations sent and consumed; the invalid one and the unknown booking dead-lettered.
        Assert.Contains("sent:          10\n", text, StringComparison.Ordinal);
        Assert.Contains("consumed:      10\n", text, StringComparison.Ordinal);
        Assert.Contains("dead-lettered: 2\n", text, StringComparison.Ordinal);
        Assert.Matches(@"handler duration: p50 [0-9.]+ ms, p99 [0-9.]+ ms", text);
    }

    private static void AssertSummary(string folder, string text)
    {
        Assert.True(text.Contains("navitaire-api on http://127.0.0.1:", StringComparison.Ordinal), $"{folder}:\n{text}");
        Assert.True(text.Contains("confirmed:    4, each in its own correlation chain: ", StringComparison.Ordinal), $"{folder}:\n{text}");
        Assert.True(text.Contains("dead letters: 2\n", StringComparison.Ordinal), $"{folder}:\n{text}");
        Assert.Contains("missing required properties including: 'seats'", text, StringComparison.Ordinal);
        Assert.Contains("booking_not_found: navitaire has no booking Z8R4NV.", text, StringComparison.Ordinal);
        Assert.Contains("described:    navitaire-api's OpenAPI document lists POST /rpc/get_booking (and /asyncapi.json)", text, StringComparison.Ordinal);

        // The confirmer's announced contract, discovered, and the pre-emit check refusing what it would dead-letter.
        Assert.Contains("booking/confirmer on 'booking.requested': versions 1, requires pnr, seats", text, StringComparison.Ordinal);
        Assert.Contains(
            "refused before sending: Event 'booking.requested' was not emitted: group 'confirmer' of service 'booking'", text, StringComparison.Ordinal);
        Assert.Contains("member '/seats' is required but missing", text, StringComparison.Ordinal);
    }

    private static async Task<string> RunAsync(string folder, string? amqpUri, params string[] arguments)
    {
        var root = RepositoryRoot();
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var assembly = folder == CSharp ? "Twyla.Samples.Booking.dll" : "Twyla.Samples.Booking.FSharp.dll";
        var dll = Path.Combine(root, folder, "bin", configuration, "net10.0", assembly);
        Assert.True(File.Exists(dll), $"{dll} is missing: the samples are built with the solution (dotnet test Twyla.Streams.sln).");

        var start = new ProcessStartInfo("dotnet", [dll, .. arguments]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var variable in AmqpVariables)
        {
            start.Environment.Remove(variable);
        }

        if (amqpUri is not null)
        {
            start.Environment["Twyla__Amqp__Uri"] = amqpUri;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        var errors = process.StandardError.ReadToEndAsync(CancellationToken.None);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{folder} did not exit within 90 s:\n{await output}\n{await errors}");
        }

        var text = (await output).ReplaceLineEndings("\n");
        Assert.True(process.ExitCode == 0, $"{folder} exited with {process.ExitCode}:\n{text}\n{await errors}");
        return text;
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Twyla.Streams.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Twyla.Streams.sln not found above " + AppContext.BaseDirectory);
    }
}
