using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Twyla.Streams.Benchmarks.Listeners;

/// <summary>The connections of one client as the broker lists them, with their channels.</summary>
internal sealed partial record BrokerConnections(IReadOnlyList<(string Name, int Channels)> Connections, int ChannelMax)
{
    public int Count => Connections.Count;

    public int Channels => Connections.Sum(c => c.Channels);

    /// <summary>
    /// Asks the broker (<c>rabbitmqctl list_connections</c> through tests/rabbitmq-node.sh, no management plugin needed)
    /// for the connections whose client-provided name starts with <paramref name="namePrefix"/>; no reading (and why)
    /// when no node script and folder are named by the environment or the call failed.
    /// </summary>
    public static async Task<(BrokerConnections? Read, string? Why)> ReadAsync(string namePrefix)
    {
        if (Environment.GetEnvironmentVariable("TWYLA_RABBITMQ_NODE_SCRIPT") is not { Length: > 0 } script ||
            Environment.GetEnvironmentVariable("TWYLA_RABBITMQ_DIR") is not { Length: > 0 } dir)
        {
            return (null, "TWYLA_RABBITMQ_NODE_SCRIPT and TWYLA_RABBITMQ_DIR are not both set");
        }

        var output = Path.GetTempFileName();
        try
        {
            // Output through a file: rabbitmqctl's Erlang VM may leave a pipe open behind it.
            var psi = new ProcessStartInfo("bash") { RedirectStandardInput = true };
            foreach (var a in (string[])["-c", "out=\"$1\"; shift; \"$@\" >\"$out\" 2>&1 </dev/null", "rabbitmq-node", output, script, "ctl", dir,
                         "list_connections", "--no-table-headers", "channels", "channel_max", "client_properties"])
            {
                psi.ArgumentList.Add(a);
            }

            using var process = Process.Start(psi)!;
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await process.WaitForExitAsync(timeout.Token);
            var printed = await File.ReadAllTextAsync(output);
            if (process.ExitCode != 0)
            {
                return (null, $"rabbitmqctl list_connections failed ({process.ExitCode}): {printed.Trim()}");
            }

            var rows = printed.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(l => l.Split('\t', 3))
                .Where(f => f.Length == 3)
                .Select(f => (Name: ConnectionName().Match(f[2]) is { Success: true } m ? m.Groups["name"].Value : string.Empty,
                    Channels: int.Parse(f[0], CultureInfo.InvariantCulture), Max: int.Parse(f[1], CultureInfo.InvariantCulture)))
                .Where(r => r.Name.StartsWith(namePrefix, StringComparison.Ordinal))
                .ToList();
            return (new BrokerConnections([.. rows.Select(r => (r.Name, r.Channels))], rows.Count > 0 ? rows.Max(r => r.Max) : 0), null);
        }
        finally
        {
            File.Delete(output);
        }
    }

    /// <summary>The client-provided name in the client properties rabbitmqctl prints (<c>{"connection_name","…"}</c>).</summary>
    [GeneratedRegex("connection_name\"?\\s*,\\s*(?:longstr\\s*,\\s*)?(?:<<)?\"(?<name>[^\"]*)\"", RegexOptions.CultureInvariant)]
    private static partial Regex ConnectionName();

    public override string ToString() =>
        string.Join(", ", Connections.OrderBy(c => c.Name, StringComparer.Ordinal).Select(c => $"'{c.Name}' {c.Channels} channels"));
}
