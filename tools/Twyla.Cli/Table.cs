using System.Text;

namespace Twyla.Cli;

/// <summary>
/// An aligned text table for human output: a header row and one row per item, each column as wide as its widest cell
/// (cells cut to <see cref="MaxCellWidth"/> with an ellipsis), columns two spaces apart, no trailing blanks.
/// </summary>
internal sealed class Table(params string[] headers)
{
    /// <summary>The widest a cell is printed; longer text is cut (the JSON output has it whole).</summary>
    public const int MaxCellWidth = 60;

    private readonly List<string[]> _rows = [];

    public int Count => _rows.Count;

    public Table Add(params string?[] cells)
    {
        if (cells.Length != headers.Length)
        {
            throw new ArgumentException($"A row has {headers.Length} cells, not {cells.Length}.", nameof(cells));
        }

        _rows.Add([.. cells.Select(Cut)]);
        return this;
    }

    public override string ToString()
    {
        var widths = headers.Select((h, i) => _rows.Select(r => r[i].Length).Prepend(h.Length).Max()).ToArray();
        var text = new StringBuilder();
        foreach (var row in _rows.Prepend(headers))
        {
            var line = string.Join("  ", row.Select((cell, i) => cell.PadRight(widths[i])));
            text.Append(line.TrimEnd()).Append('\n');
        }

        return text.ToString();
    }

    private static string Cut(string? cell)
    {
        var text = (cell ?? "").ReplaceLineEndings(" ");
        return text.Length <= MaxCellWidth ? text : string.Concat(text.AsSpan(0, MaxCellWidth - 1), "…");
    }
}
