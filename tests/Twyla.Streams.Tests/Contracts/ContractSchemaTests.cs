using Twyla.Streams.Contracts;
using Xunit;

namespace Twyla.Streams.Tests.Contracts;

public sealed class ContractSchemaTests
{
    private sealed record Booking(string Pnr, string? Note, int Seats);

    [Fact]
    public void The_schema_uses_the_bus_names_and_requires_constructor_parameters()
    {
        var schema = ContractSchema.For<Booking>(EventBusSettings.DefaultJsonOptions);

        var properties = schema["properties"]!.AsObject();
        Assert.Equal(["pnr", "note", "seats"], properties.Select(p => p.Key));
        Assert.Equal(["pnr", "note", "seats"], schema["required"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("string", properties["pnr"]!["type"]!.GetValue<string>());
        Assert.Equal(["string", "null"], properties["note"]!["type"]!.AsArray().Select(n => n!.GetValue<string>()));
        Assert.Equal("integer", properties["seats"]!["type"]!.GetValue<string>());
    }
}
