using System.Text.Json.Nodes;

namespace Twyla.Streams.Contracts;

/// <summary>
/// Classifies a contract change: does every payload a producer may send satisfy a consumer? Compares two JSON Schemas
/// (draft 2020-12, as <see cref="ContractSchema"/> and System.Text.Json's exporter write them) without any payload,
/// so a unit test can tell an additive change from a breaking one.
/// </summary>
/// <remarks>
/// <para>
/// Compatible means every payload valid against the producer's schema is valid against the consumer's, with one
/// reading that follows how payloads are written: an object schema of the producer that declares <c>properties</c>
/// and says nothing of <c>additionalProperties</c> sends only the members it declares (a serializer writes no others).
/// A consumer's object is open unless it says <c>additionalProperties: false</c>, as the bus reads payloads.
/// </para>
/// <para>
/// The check is conservative: what it cannot prove compatible (a consumer keyword it does not compare, such as
/// <c>not</c> or <c>oneOf</c>, unless the producer states the very same constraint) is reported as a problem.
/// Handled: <c>type</c> (integer is a number, not the reverse; <c>null</c> in a type list is nullability),
/// <c>enum</c>/<c>const</c>, <c>properties</c>/<c>required</c>/<c>additionalProperties</c>, <c>items</c>,
/// string length, <c>pattern</c> and <c>format</c>, numeric bounds and <c>multipleOf</c>, array length and
/// <c>uniqueItems</c>, <c>anyOf</c>/<c>allOf</c>, local <c>$ref</c> (<c>#</c>, <c>#/$defs/…</c>, any JSON pointer
/// into the same document, recursive ones too), and the <c>true</c>/<c>false</c>/<c>{}</c> schemas.
/// </para>
/// </remarks>
public static class ContractCompatibility
{
    /// <summary>Checks that every payload valid against <paramref name="producerSchema"/> is valid against <paramref name="consumerSchema"/>.</summary>
    /// <param name="producerSchema">The schema of what the producer sends (for example <see cref="ContractSchema.For(Type, System.Text.Json.JsonSerializerOptions)"/> of its payload type).</param>
    /// <param name="consumerSchema">The schema of what the consumer accepts (for example a listener's contract).</param>
    /// <returns>Compatible, or the problems with their paths in the payload.</returns>
    public static ContractCompatibilityResult Check(JsonNode producerSchema, JsonNode consumerSchema)
    {
        ArgumentNullException.ThrowIfNull(producerSchema);
        ArgumentNullException.ThrowIfNull(consumerSchema);
        return new ContractCompatibilityResult(SchemaComparison.Run(producerSchema, consumerSchema));
    }
}
