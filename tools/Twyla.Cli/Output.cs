using System.CommandLine;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Twyla.Cli;

/// <summary>Where a command writes: the invocation's output and error writers, as a table or (with <c>--json</c>) as JSON.</summary>
internal sealed class Output(ParseResult parse, bool json)
{
    /// <summary>camelCase, and text as it is (a body's quotes stay quotes): the output is read by people and scripts, never put in HTML.</summary>
    public static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    /// <summary>As <see cref="JsonOptions"/>, one line (for a stream of events).</summary>
    public static readonly JsonSerializerOptions JsonLineOptions = new(JsonOptions) { WriteIndented = false };

    public bool Json { get; } = json;

    public TextWriter Out { get; } = parse.InvocationConfiguration.Output;

    public TextWriter Error { get; } = parse.InvocationConfiguration.Error;

    /// <summary>The value as indented camelCase JSON, with --json; the text otherwise.</summary>
    public void Write(object value, Func<string> text) => Out.Write(Json ? JsonSerializer.Serialize(value, JsonOptions) + "\n" : text());

    public static string Time(DateTimeOffset? time) =>
        time?.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture) ?? "-";

    public static string Number(long value) => value.ToString(CultureInfo.InvariantCulture);
}
