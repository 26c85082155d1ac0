using System.Text.Json;
using System.Text.Json.Serialization;
using Twyla.Streams.Contracts;
using Xunit;

namespace Twyla.Streams.Tests.Contracts;

/// <summary>
/// Contract changes of real C# payload types, through <see cref="ContractSchema.For(Type, JsonSerializerOptions)"/>
/// and <see cref="ContractCompatibility.Check"/>: each change is checked in both directions, because a change that
/// breaks a consumer when the producer makes it first is often safe when the consumer goes first.
/// </summary>
public sealed class ContractSchemaCompatibilityTests
{
    private static readonly JsonSerializerOptions Json = new(EventBusSettings.DefaultJsonOptions)
    {
        Converters = { new JsonStringEnumConverter() }, // enums as names, so the schema lists them
    };

    public enum Priority { Low, Normal, High }

    public enum PriorityWithUrgent { Low, Normal, High, Urgent }

    public sealed record Customer(string Name, string? Email);

    public sealed record Line(string Sku, int Quantity);

    public sealed record FractionalLine(string Sku, decimal Quantity);

    public sealed record OrderV1(string OrderId, Customer Customer, List<Line> Lines, Priority Priority, string? Note);

    public sealed record OrderWithOptionalCoupon(string OrderId, Customer Customer, List<Line> Lines, Priority Priority, string? Note, string? Coupon = null);

    public sealed record OrderWithRequiredCoupon(string OrderId, Customer Customer, List<Line> Lines, Priority Priority, string? Note, string Coupon);

    public sealed record OrderWithoutLines(string OrderId, Customer Customer, Priority Priority, string? Note);

    public sealed record OrderWithUrgent(string OrderId, Customer Customer, List<Line> Lines, PriorityWithUrgent Priority, string? Note);

    public sealed record OrderWithFractions(string OrderId, Customer Customer, List<FractionalLine> Lines, Priority Priority, string? Note);

    public sealed record OrderWithoutCustomer(string OrderId, Customer? Customer, List<Line> Lines, Priority Priority, string? Note);

    public sealed record Address(string Street, string? Zip);

    public sealed record StrictAddress(string Street, string Zip);

    public sealed record Shipment(Address From, Address To);

    public sealed record StrictShipment(StrictAddress From, StrictAddress To);

    public sealed record Category(string Name, List<Category> Children);

    public sealed record CategoryWithSlug(string Name, string Slug, List<CategoryWithSlug> Children);

    [Fact]
    public void A_new_optional_member_should_be_compatible_in_both_directions()
    {
        AssertCompatible<OrderV1, OrderWithOptionalCoupon>();
        AssertCompatible<OrderWithOptionalCoupon, OrderV1>();
    }

    [Fact]
    public void A_new_required_member_should_break_consumers_that_go_first_and_not_producers()
    {
        AssertSingleProblem<OrderV1, OrderWithRequiredCoupon>("/coupon", "requires this member", "does not send it");
        AssertCompatible<OrderWithRequiredCoupon, OrderV1>();
    }

    [Fact]
    public void Removing_a_required_member_should_break_the_producer_that_removes_it_and_not_the_consumer()
    {
        AssertSingleProblem<OrderWithoutLines, OrderV1>("/lines", "requires this member", "does not send it");
        AssertCompatible<OrderV1, OrderWithoutLines>();
    }

    [Fact]
    public void A_new_enum_value_should_be_safe_for_consumers_first_and_break_old_consumers_when_sent()
    {
        AssertCompatible<OrderV1, OrderWithUrgent>();
        AssertSingleProblem<OrderWithUrgent, OrderV1>("/priority", "\"Urgent\"", "accepts only \"Low\", \"Normal\", \"High\"");
    }

    [Fact]
    public void A_list_of_nested_records_should_be_compared_item_by_item()
    {
        AssertSingleProblem<OrderWithFractions, OrderV1>("/lines/*/quantity", "non-integer numbers", "integers");
        AssertCompatible<OrderV1, OrderWithFractions>();
    }

    [Fact]
    public void A_member_made_nullable_should_break_consumers_that_require_a_value()
    {
        AssertSingleProblem<OrderWithoutCustomer, OrderV1>("/customer", "may send null", "not nullable");
        AssertCompatible<OrderV1, OrderWithoutCustomer>();
    }

    [Fact]
    public void A_type_used_twice_should_be_compared_at_both_places()
    {
        var result = Check<Shipment, StrictShipment>();

        Assert.Equal(["/from/zip", "/to/zip"], result.Problems.Select(p => p.Path));
        Assert.All(result.Problems, p => Assert.Contains("may send null", p.Reason, StringComparison.Ordinal));
        AssertCompatible<StrictShipment, Shipment>();
    }

    [Fact]
    public void A_recursive_type_should_be_compared_without_looping()
    {
        var schema = ContractSchema.For<Category>(Json).ToJsonString();
        Assert.Contains("\"$ref\"", schema, StringComparison.Ordinal); // the exporter refers back to the type instead of nesting it forever

        AssertSingleProblem<Category, CategoryWithSlug>("/slug", "requires this member", "does not send it");
        AssertCompatible<CategoryWithSlug, Category>();
    }

    private static ContractCompatibilityResult Check<TProducer, TConsumer>() =>
        ContractCompatibility.Check(ContractSchema.For<TProducer>(Json), ContractSchema.For<TConsumer>(Json));

    private static void AssertCompatible<TProducer, TConsumer>() => CompatibilityAssert.Compatible(Check<TProducer, TConsumer>());

    private static void AssertSingleProblem<TProducer, TConsumer>(string path, params string[] reasonParts) =>
        CompatibilityAssert.SingleProblem(Check<TProducer, TConsumer>(), path, reasonParts);
}
