using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Schema;

namespace Twyla.Streams.Contracts;

/// <summary>
/// The JSON Schema of a payload type as the bus reads it: generated from the type with System.Text.Json's
/// <see cref="JsonSchemaExporter"/> and the bus's own JSON options, so names, required members, nullability
/// and number handling are those the bus validates with.
/// </summary>
public static class ContractSchema
{
    private static readonly JsonSchemaExporterOptions ExporterOptions = new()
    {
        // Members without nullable annotations (e.g. from F# or code without <Nullable>) are non-nullable,
        // as RespectNullableAnnotations reads them.
        TreatNullObliviousAsNonNullable = true,

        // F# option/voption members are optional and nullable, as the bus reads them.
        TransformSchemaNode = FSharpOptionMembers.TransformSchema,
    };

    /// <summary>The schema of <paramref name="payloadType"/> under <paramref name="jsonOptions"/>.</summary>
    /// <param name="payloadType">The payload type.</param>
    /// <param name="jsonOptions">The JSON options the bus uses (<see cref="EventBusSettings.JsonOptions"/>).</param>
    /// <returns>The schema, a new node owned by the caller.</returns>
    public static JsonNode For(Type payloadType, JsonSerializerOptions jsonOptions)
    {
        ArgumentNullException.ThrowIfNull(payloadType);
        ArgumentNullException.ThrowIfNull(jsonOptions);
        if (!jsonOptions.IsReadOnly)
        {
            jsonOptions = new JsonSerializerOptions(jsonOptions);
            jsonOptions.MakeReadOnly(populateMissingResolver: true);
        }

        return jsonOptions.GetJsonSchemaAsNode(payloadType, ExporterOptions);
    }

    /// <summary>The schema of <typeparamref name="T"/> under <paramref name="jsonOptions"/>.</summary>
    /// <typeparam name="T">The payload type.</typeparam>
    /// <param name="jsonOptions">The JSON options the bus uses.</param>
    /// <returns>The schema.</returns>
    public static JsonNode For<T>(JsonSerializerOptions jsonOptions) => For(typeof(T), jsonOptions);
}
