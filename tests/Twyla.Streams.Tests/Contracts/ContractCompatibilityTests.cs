using System.Text.Json.Nodes;
using Twyla.Streams.Contracts;
using Xunit;

namespace Twyla.Streams.Tests.Contracts;

/// <summary>
/// <see cref="ContractCompatibility.Check"/> on hand-written schemas, one rule at a time: every problem is asserted
/// with its path in the payload and words of its reason that name the rule.
/// </summary>
public sealed class ContractCompatibilityTests
{
    // Required vs optional

    [Fact]
    public void A_member_the_producer_requires_and_the_consumer_leaves_optional_should_be_compatible() =>
        AssertCompatible(
            """{"type":"object","properties":{"pnr":{"type":"string"},"note":{"type":"string"}},"required":["pnr","note"]}""",
            """{"type":"object","properties":{"pnr":{"type":"string"},"note":{"type":"string"}},"required":["pnr"]}""");

    [Fact]
    public void A_member_the_consumer_requires_and_the_producer_may_leave_out_should_be_reported_at_its_path() =>
        AssertSingleProblem(
            """{"type":"object","properties":{"pnr":{"type":"string"},"note":{"type":"string"}},"required":["pnr"]}""",
            """{"type":"object","properties":{"pnr":{"type":"string"},"note":{"type":"string"}},"required":["pnr","note"]}""",
            "/note", "requires this member", "optional for the producer");

    [Fact]
    public void A_required_member_the_producer_removed_should_be_reported_as_not_sent() =>
        AssertSingleProblem(
            """{"type":"object","properties":{"pnr":{"type":"string"}},"required":["pnr"]}""",
            """{"type":"object","properties":{"pnr":{"type":"string"},"seats":{"type":"integer"}},"required":["pnr","seats"]}""",
            "/seats", "requires this member", "does not send it");

    // Members added and removed, open and closed objects

    [Fact]
    public void A_member_the_producer_adds_should_be_compatible_with_an_open_consumer() =>
        AssertCompatible(
            """{"type":"object","properties":{"pnr":{"type":"string"},"extra":{"type":"integer"}},"required":["pnr","extra"]}""",
            """{"type":"object","properties":{"pnr":{"type":"string"}},"required":["pnr"]}""");

    [Fact]
    public void A_member_the_producer_adds_should_be_refused_by_a_closed_consumer() =>
        AssertSingleProblem(
            """{"type":"object","properties":{"pnr":{"type":"string"},"extra":{"type":"integer"}}}""",
            """{"type":"object","properties":{"pnr":{"type":"string"}},"additionalProperties":false}""",
            "/extra", "does not declare", "additionalProperties: false");

    [Fact]
    public void An_optional_member_the_consumer_adds_before_the_producer_sends_it_should_be_compatible() =>
        AssertCompatible(
            """{"type":"object","properties":{"pnr":{"type":"string"}},"required":["pnr"]}""",
            """{"type":"object","properties":{"pnr":{"type":"string"},"note":{"type":["string","null"]}},"required":["pnr"],"additionalProperties":false}""");

    [Fact]
    public void A_producer_open_to_undeclared_members_should_be_refused_by_a_closed_consumer() =>
        AssertSingleProblem(
            """{"type":"object","properties":{"pnr":{"type":"string"}},"additionalProperties":true}""",
            """{"type":"object","properties":{"pnr":{"type":"string"}},"additionalProperties":false}""",
            "", "members it does not declare", "closed");

    [Fact]
    public void A_producer_with_patternProperties_should_be_refused_by_a_closed_consumer() =>
        AssertSingleProblem(
            """{"type":"object","properties":{"pnr":{"type":"string"}},"patternProperties":{"^x-":{"type":"string"}}}""",
            """{"type":"object","properties":{"pnr":{"type":"string"}},"additionalProperties":false}""",
            "", "members it does not declare", "closed");

    [Fact]
    public void A_map_producer_should_be_checked_against_each_member_the_consumer_declares() =>
        AssertSingleProblem(
            """{"type":"object","additionalProperties":{"type":"string"}}""",
            """{"type":"object","properties":{"count":{"type":"integer"}}}""",
            "/count", "strings", "integers");

    [Fact]
    public void Map_values_should_be_compared_under_the_any_member_segment() =>
        AssertSingleProblem(
            """{"type":"object","additionalProperties":{"type":"number"}}""",
            """{"type":"object","additionalProperties":{"type":"integer"}}""",
            "/*", "non-integer numbers", "integers");

    // Types

    [Fact]
    public void An_integer_producer_should_satisfy_a_number_consumer() =>
        AssertCompatible("""{"type":"integer"}""", """{"type":"number"}""");

    [Fact]
    public void A_number_producer_should_not_satisfy_an_integer_consumer() =>
        AssertSingleProblem("""{"type":"number"}""", """{"type":"integer"}""", "", "non-integer numbers", "a number is not an integer");

    [Fact]
    public void A_member_whose_type_changed_should_be_reported_with_both_types() =>
        AssertSingleProblem(
            """{"type":"object","properties":{"seats":{"type":"string"}}}""",
            """{"type":"object","properties":{"seats":{"type":"integer"}}}""",
            "/seats", "may send strings", "accepts only integers");

    // Nullability

    [Fact]
    public void A_nullable_producer_member_should_not_satisfy_a_non_nullable_consumer_member() =>
        AssertSingleProblem(
            """{"type":"object","properties":{"note":{"type":["string","null"]}}}""",
            """{"type":"object","properties":{"note":{"type":"string"}}}""",
            "/note", "may send null", "not nullable for the consumer");

    [Fact]
    public void A_non_nullable_producer_member_should_satisfy_a_nullable_consumer_member() =>
        AssertCompatible("""{"type":"string"}""", """{"type":["string","null"]}""");

    // Enums

    [Fact]
    public void A_producer_enum_that_is_a_subset_should_be_compatible() =>
        AssertCompatible("""{"type":"string","enum":["A","B"]}""", """{"type":"string","enum":["A","B","C"]}""");

    [Fact]
    public void A_value_the_producer_adds_to_its_enum_should_be_named() =>
        AssertSingleProblem("""{"type":"string","enum":["A","B","C"]}""", """{"type":"string","enum":["A","B"]}""", "", "\"C\"", "accepts only \"A\", \"B\"");

    [Fact]
    public void A_producer_without_an_enum_should_not_satisfy_a_consumer_enum() =>
        AssertSingleProblem("""{"type":"string"}""", """{"type":"string","enum":["A","B"]}""", "", "accepts only \"A\", \"B\" (enum)", "lists no values, so it may send other strings");

    [Fact]
    public void A_nullable_producer_enum_should_be_refused_by_a_consumer_enum_without_null() =>
        AssertSingleProblem(
            """{"type":["string","null"],"enum":["A",null]}""",
            """{"type":"string","enum":["A","B"]}""",
            "", "may send null", "accepts only strings");

    [Fact]
    public void A_const_outside_the_consumer_const_should_be_named() =>
        AssertSingleProblem("""{"const":"v2"}""", """{"const":"v1"}""", "", "\"v2\"", "\"v1\"");

    // Nested objects and arrays

    [Fact]
    public void A_problem_in_a_nested_object_should_carry_the_full_path() =>
        AssertSingleProblem(
            """{"type":"object","properties":{"customer":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"number"}},"required":["name"]}}}""",
            """{"type":"object","properties":{"customer":{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name"]}}}""",
            "/customer/age", "non-integer numbers");

    [Fact]
    public void A_problem_in_array_items_should_use_the_any_item_segment() =>
        AssertSingleProblem(
            """{"type":"object","properties":{"lines":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"}}}}}}""",
            """{"type":"object","properties":{"lines":{"type":"array","items":{"type":"object","properties":{"sku":{"type":"string"}},"required":["sku"]}}}}""",
            "/lines/*/sku", "requires this member", "optional for the producer");

    [Fact]
    public void Items_a_producer_places_first_with_prefixItems_should_not_be_taken_for_its_items() =>
        AssertSingleProblem(
            """{"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"integer"}}""",
            """{"type":"array","items":{"type":"integer"}}""",
            "/*", "accepts only integers");

    [Fact]
    public void Array_length_should_be_within_the_consumer_bounds() =>
        AssertSingleProblem(
            """{"type":"array","items":{"type":"string"},"minItems":1}""",
            """{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":10}""",
            "", "at most 10 items (maxItems)", "states no maxItems");

    [Fact]
    public void Unique_items_required_by_the_consumer_should_be_reported() =>
        AssertSingleProblem("""{"type":"array"}""", """{"type":"array","uniqueItems":true}""", "", "uniqueItems", "may repeat");

    // String length, pattern and format

    [Fact]
    public void A_producer_that_tightens_string_length_should_be_compatible() =>
        AssertCompatible("""{"type":"string","minLength":2,"maxLength":20}""", """{"type":"string","minLength":1,"maxLength":50}""");

    [Fact]
    public void A_producer_that_loosens_the_maximum_length_should_be_reported() =>
        AssertSingleProblem("""{"type":"string","maxLength":100}""", """{"type":"string","maxLength":50}""", "", "at most 50 characters (maxLength)", "allows up to 100");

    [Fact]
    public void A_consumer_minimum_length_the_producer_does_not_state_should_be_reported() =>
        AssertSingleProblem("""{"type":"string"}""", """{"type":"string","minLength":1}""", "", "at least 1 characters (minLength)", "allows 0");

    [Fact]
    public void A_format_the_producer_does_not_guarantee_should_be_reported() =>
        AssertSingleProblem("""{"type":"string"}""", """{"type":"string","format":"date-time"}""", "", "format \"date-time\"", "states no format");

    // Numeric bounds

    [Fact]
    public void A_producer_within_the_consumer_range_should_be_compatible() =>
        AssertCompatible("""{"type":"integer","minimum":1,"maximum":9}""", """{"type":"integer","minimum":0,"exclusiveMaximum":10}""");

    [Fact]
    public void A_consumer_maximum_the_producer_does_not_state_should_be_reported() =>
        AssertSingleProblem("""{"type":"integer","minimum":0}""", """{"type":"integer","minimum":0,"maximum":100}""", "", "<= 100 (maximum)", "states no maximum");

    [Fact]
    public void An_inclusive_producer_bound_at_an_exclusive_consumer_bound_should_be_reported() =>
        AssertSingleProblem("""{"type":"number","maximum":10}""", """{"type":"number","exclusiveMaximum":10}""", "", "< 10 (maximum)", "allows <= 10");

    [Fact]
    public void A_producer_minimum_below_the_consumer_minimum_should_be_reported() =>
        AssertSingleProblem("""{"type":"number","minimum":-5}""", """{"type":"number","minimum":0}""", "", ">= 0 (minimum)", "allows >= -5");

    [Fact]
    public void Multiples_should_be_compatible_when_the_producer_step_is_a_multiple_of_the_consumer_step()
    {
        AssertCompatible("""{"type":"number","multipleOf":0.5}""", """{"type":"number","multipleOf":0.25}""");
        AssertSingleProblem("""{"type":"number","multipleOf":0.25}""", """{"type":"number","multipleOf":0.5}""", "", "multiples of 0.5 (multipleOf)", "sends multiples of 0.25");
    }

    // $ref and $defs

    [Fact]
    public void A_problem_behind_a_defs_reference_should_be_reported_at_every_place_that_uses_it()
    {
        var producer = """{"type":"object","properties":{"billing":{"$ref":"#/$defs/Address"},"shipping":{"$ref":"#/$defs/Address"}},"$defs":{"Address":{"type":"object","properties":{"zip":{"type":"string"}}}}}""";
        var consumer = """{"type":"object","properties":{"billing":{"$ref":"#/$defs/Address"},"shipping":{"$ref":"#/$defs/Address"}},"$defs":{"Address":{"type":"object","properties":{"zip":{"type":"string"}},"required":["zip"]}}}""";

        var result = Check(producer, consumer);

        Assert.Equal(["/billing/zip", "/shipping/zip"], result.Problems.Select(p => p.Path));
        Assert.All(result.Problems, p => Assert.Contains("optional for the producer", p.Reason, StringComparison.Ordinal));
    }

    [Fact]
    public void A_pointer_reference_as_the_exporter_writes_it_should_resolve_to_the_earlier_schema() =>
        AssertSingleProblem(
            """{"type":"object","properties":{"first":{"type":"object","properties":{"n":{"type":"number"}}},"second":{"$ref":"#/properties/first"}}}""",
            """{"type":"object","properties":{"first":{"type":"object","properties":{"n":{"type":"number"}}},"second":{"type":"object","properties":{"n":{"type":"integer"}}}}}""",
            "/second/n", "non-integer numbers");

    [Fact]
    public void A_recursive_reference_should_be_compared_once_and_terminate()
    {
        var producer = """{"type":["object","null"],"properties":{"value":{"type":"number"},"next":{"$ref":"#"}}}""";
        var consumer = """{"type":["object","null"],"properties":{"value":{"type":"integer"},"next":{"$ref":"#"}}}""";

        AssertSingleProblem(producer, consumer, "/value", "non-integer numbers");
        AssertCompatible(consumer, producer);
    }

    [Fact]
    public void A_reference_with_sibling_keywords_should_hold_both_the_target_and_the_siblings() =>
        AssertSingleProblem(
            """{"type":"string","maxLength":8}""",
            """{"$ref":"#/$defs/Code","maxLength":10,"$defs":{"Code":{"type":"string","maxLength":5}}}""",
            "", "at most 5 characters (maxLength)", "allows up to 8");

    [Fact]
    public void A_reference_that_does_not_resolve_should_be_reported() =>
        AssertSingleProblem("""{"type":"string"}""", """{"$ref":"#/$defs/Missing"}""", "", "consumer's $ref '#/$defs/Missing' does not resolve");

    // true, false and {}

    [Fact]
    public void A_consumer_that_accepts_anything_should_be_compatible_with_any_producer()
    {
        AssertCompatible("""{"type":"object","properties":{"a":{"type":"string"}}}""", "true");
        AssertCompatible("true", "{}");
        AssertCompatible("false", """{"type":"string"}""");
    }

    [Fact]
    public void A_producer_that_sends_anything_should_not_satisfy_a_typed_consumer() =>
        AssertSingleProblem("{}", """{"type":"object"}""", "", "may send null, booleans, arrays, strings or numbers", "accepts only objects");

    [Fact]
    public void A_consumer_false_schema_should_refuse_a_producer_that_sends_a_value() =>
        AssertSingleProblem(
            """{"type":"object","properties":{"legacy":{"type":"string"}}}""",
            """{"type":"object","properties":{"legacy":false}}""",
            "/legacy", "accepts no value here", "false");

    // Alternatives and keywords the check does not compare

    [Fact]
    public void A_producer_should_satisfy_a_consumer_anyOf_through_one_of_its_branches()
    {
        var consumer = """{"anyOf":[{"type":"string"},{"type":"integer","minimum":0}]}""";

        AssertCompatible("""{"type":"integer","minimum":1}""", consumer);
        AssertCompatible("""{"anyOf":[{"type":"string","maxLength":3},{"type":"integer","minimum":5}]}""", consumer);
        AssertSingleProblem("""{"type":"boolean"}""", consumer, "", "none of the consumer's 2 alternatives (anyOf)", "closest");
    }

    [Fact]
    public void A_consumer_keyword_the_check_cannot_compare_should_be_reported_unless_the_producer_states_the_same()
    {
        AssertSingleProblem("""{"type":"string"}""", """{"type":"string","not":{"const":"x"}}""", "", "'not' cannot be compared");
        AssertCompatible("""{"type":"string","not":{"const":"x"}}""", """{"type":"string","not":{"const":"x"}}""");
    }

    [Fact]
    public void Problems_should_read_as_path_and_reason()
    {
        var result = Check("""{"type":"object","properties":{"a":{"type":"number"}}}""", """{"type":"object","properties":{"a":{"type":"integer"}}}""");

        Assert.False(result.IsCompatible);
        Assert.StartsWith("/a: the producer may send non-integer numbers", result.ToString(), StringComparison.Ordinal);
        Assert.Equal("compatible", Check("{}", "{}").ToString());
    }

    private static ContractCompatibilityResult Check(string producer, string consumer) =>
        ContractCompatibility.Check(JsonNode.Parse(producer)!, JsonNode.Parse(consumer)!);

    private static void AssertCompatible(string producer, string consumer) => CompatibilityAssert.Compatible(Check(producer, consumer));

    private static void AssertSingleProblem(string producer, string consumer, string path, params string[] reasonParts) =>
        CompatibilityAssert.SingleProblem(Check(producer, consumer), path, reasonParts);
}
