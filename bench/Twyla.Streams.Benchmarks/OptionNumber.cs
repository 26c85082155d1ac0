using System.Globalization;

namespace Twyla.Streams.Benchmarks;

/// <summary>The one parse of a benchmark option's number: non-negative, `_` allowed as a digit separator.</summary>
internal static class OptionNumber
{
    /// <summary><paramref name="text"/> as a non-negative number, or an error naming <paramref name="option"/>.</summary>
    public static int Parse(string option, string text) =>
        int.TryParse(text.Replace("_", "", StringComparison.Ordinal), NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 0
            ? n
            : throw new ArgumentException($"{option} needs a non-negative number, not '{text}'");

    /// <summary>The number after the option at <paramref name="i"/>, moving <paramref name="i"/> past it.</summary>
    public static int Next(IReadOnlyList<string> args, ref int i) =>
        i + 1 < args.Count ? Parse(args[i], args[++i]) : throw new ArgumentException($"{args[i]} needs a non-negative number");
}
