using Xunit;

namespace Twyla.Streams.Tests;

/// <summary>Type names in messages as users write them (the F# side is tested from F# in Twyla.Streams.FSharp.Tests).</summary>
public sealed class TypeNamesTests
{
    [Fact]
    public void Of_should_join_nested_types_with_a_dot_and_write_generic_arguments_in_angle_brackets()
    {
        Assert.Equal("TypeNamesTests.Outer", TypeNames.Of(typeof(Outer)));
        Assert.Equal("TypeNamesTests.Box<TypeNamesTests.Outer>", TypeNames.Of(typeof(Box<Outer>)));
        Assert.Equal("Dictionary<String, List<Int32>>", TypeNames.Of(typeof(Dictionary<string, List<int>>)));
        Assert.Equal("Int32?[]", TypeNames.Of(typeof(int?[])));
        Assert.Equal("String", TypeNames.Of(typeof(string)));
    }

    [Theory]
    [InlineData("Program+BookingRequested", "Program.BookingRequested")]
    [InlineData("MyApp.Contracts+Booking", "Contracts.Booking")]
    [InlineData("Program+Envelope`1[Program+BookingRequested]", "Program.Envelope<Program.BookingRequested>")]
    [InlineData("Microsoft.FSharp.Core.FSharpOption`1[System.String]", "option<String>")]
    [InlineData("Microsoft.FSharp.Collections.FSharpList`1[Program+Seat]", "list<Program.Seat>")]
    [InlineData("System.Collections.Generic.Dictionary`2[System.String,Program+Seat[]]", "Dictionary<String, Program.Seat[]>")]
    [InlineData("not a type [", "not a type [")]
    public void Readable_should_rewrite_a_clr_type_name(string clrName, string readable) =>
        Assert.Equal(readable, TypeNames.Readable(clrName));

    [Fact]
    public void InMessage_should_rewrite_quoted_type_names_and_leave_member_names_alone()
    {
        const string message = "JSON deserialization for type 'Program+BookingRequested' was missing required properties including: 'seats'. Path: $.item";
        Assert.Equal(
            "JSON deserialization for type 'Program.BookingRequested' was missing required properties including: 'seats'. Path: $.item",
            TypeNames.InMessage(message));
    }

    private sealed record Outer;

    private sealed record Box<T>(T Value);
}
