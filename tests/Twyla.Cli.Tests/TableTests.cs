using Xunit;

namespace Twyla.Cli.Tests;

public sealed class TableTests
{
    [Fact]
    public void Columns_should_be_as_wide_as_their_widest_cell_two_spaces_apart_without_trailing_blanks()
    {
        var text = new Table("ID", "REASON").Add("1234567", "short").Add("1", "a longer reason").ToString();
        Assert.Equal("ID       REASON\n1234567  short\n1        a longer reason\n", text);
    }

    [Fact]
    public void Long_cells_should_be_cut_with_an_ellipsis_and_line_breaks_flattened()
    {
        var text = new Table("X").Add(new string('a', 100)).Add("two\nlines").ToString();
        var lines = text.Split('\n');
        Assert.Equal(Table.MaxCellWidth, lines[1].Length);
        Assert.EndsWith("…", lines[1], StringComparison.Ordinal);
        Assert.Equal("two lines", lines[2]);
    }
}
