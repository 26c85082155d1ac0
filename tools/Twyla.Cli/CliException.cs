namespace Twyla.Cli;

/// <summary>A failure the tool reports as one line on standard error, ending the command with <see cref="ExitCode"/>.</summary>
internal sealed class CliException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
