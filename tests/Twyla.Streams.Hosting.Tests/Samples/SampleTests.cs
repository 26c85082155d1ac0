using System.Diagnostics;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.Samples;

/// <summary>
/// The samples are what a new user runs first: both must run to the end on the embedded broker, call the
/// procedure over HTTP, confirm the known bookings and dead-letter the invalid request and the unknown booking.
/// </summary>
public sealed class SampleTests
{
    [Theory]
    [InlineData("samples/CSharp", "Twyla.Samples.Booking.dll")]
    [InlineData("samples/FSharp", "Twyla.Samples.Booking.FSharp.dll")]
    public async Task Sample_should_run_the_booking_pipeline_and_exit_by_itself(string folder, string assembly)
    {
        var root = RepositoryRoot();
        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        var dll = Path.Combine(root, folder, "bin", configuration, "net10.0", assembly);
        Assert.True(File.Exists(dll), $"{dll} is missing: the samples are built with the solution (dotnet test Twyla.Streams.sln).");

        var start = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var variable in new[] { "Twyla__Amqp__Uri", "TWYLA_AMQP_HOST", "TWYLA_AMQP_PORT", "TWYLA_AMQP_USER", "TWYLA_AMQP_PASS", "TWYLA_AMQP_VHOST" })
        {
            start.Environment.Remove(variable); // the embedded default, as in the README's run command
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var errors = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
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

        var text = await output;
        Assert.True(process.ExitCode == 0, $"{folder} exited with {process.ExitCode}:\n{text}\n{await errors}");
        Assert.Contains("events on in-memory", text, StringComparison.Ordinal);
        Assert.Contains("navitaire-api on http://127.0.0.1:", text, StringComparison.Ordinal);
        Assert.Contains("confirmed:    4, each in its own correlation chain: ", text, StringComparison.Ordinal);
        Assert.Contains("dead letters: 2", text, StringComparison.Ordinal);
        Assert.Contains("missing required properties including: 'seats'", text, StringComparison.Ordinal);
        Assert.Contains("booking_not_found: navitaire has no booking Z8R4NV.", text, StringComparison.Ordinal);
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
