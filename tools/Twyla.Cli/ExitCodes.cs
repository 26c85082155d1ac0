namespace Twyla.Cli;

/// <summary>The exit codes of <c>twyla</c>, documented in docs/cli.md (one place: every command returns these).</summary>
internal static class ExitCodes
{
    /// <summary>The command did what it was asked.</summary>
    public const int Ok = 0;

    /// <summary>The command line is not valid (System.CommandLine's own code for parse errors), or a check failed.</summary>
    public const int Invalid = 1;

    /// <summary>Nothing matched: no dead letter with that id, no schema file, no group announced for the event to check.</summary>
    public const int NotFound = 2;

    /// <summary>No broker is configured, or the broker could not be reached or refused the operation.</summary>
    public const int Broker = 3;

    /// <summary>A purge was not confirmed.</summary>
    public const int NotConfirmed = 4;

    /// <summary>Cancelled (Ctrl+C) before the command finished.</summary>
    public const int Cancelled = 130;
}
