using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.OpenApi;
using Microsoft.OpenApi.Reader;
using Twyla.Streams.Contracts;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>
/// What a served procedure takes and answers, kept on its endpoint: the OpenAPI document and the AsyncAPI
/// document read it from there.
/// </summary>
internal sealed record RpcProcedureMetadata(string Procedure, Type RequestType, Type ResponseType, JsonSerializerOptions JsonOptions)
{
    /// <summary>The failures every procedure may answer with (an RFC 9457 problem each).</summary>
    private static readonly int[] FailureStatuses =
    [
        StatusCodes.Status400BadRequest,
        StatusCodes.Status413PayloadTooLarge,
        StatusCodes.Status500InternalServerError,
        StatusCodes.Status504GatewayTimeout,
    ];

    /// <summary>The path the procedure is served at.</summary>
    public string Path => RpcHeaders.PathPrefix + Procedure;

    /// <summary>The request body's schema, as the endpoint reads it.</summary>
    public JsonNode RequestSchema() => ContractSchema.For(RequestType, JsonOptions);

    /// <summary>The response body's schema, as the endpoint writes it.</summary>
    public JsonNode ResponseSchema() => ContractSchema.For(ResponseType, JsonOptions);

    /// <summary>Fills the procedure's OpenAPI operation: request body, 200 response and problem failures.</summary>
    public Task DescribeAsync(OpenApiOperation operation, OpenApiDocument? document)
    {
        var reader = new OpenApiJsonReader();
        IOpenApiSchema Read(JsonNode schema) =>
            reader.ReadFragment<OpenApiSchema>(schema, OpenApiSpecVersion.OpenApi3_1, document ?? new OpenApiDocument(), out _)
            ?? throw new InvalidOperationException($"The schema of procedure '{Procedure}' is not an OpenAPI schema: {schema.ToJsonString()}");

        operation.OperationId ??= Procedure;
        operation.Summary ??= $"Procedure {Procedure}";
        operation.RequestBody = new OpenApiRequestBody
        {
            Required = true,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new() { Schema = Read(RequestSchema()) },
            },
        };
        operation.Responses ??= [];
        operation.Responses[StatusCodes.Status200OK.ToString(CultureInfo.InvariantCulture)] = new OpenApiResponse
        {
            Description = "The procedure's response.",
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["application/json"] = new() { Schema = Read(ResponseSchema()) },
            },
        };
        var problem = Read(JsonNode.Parse(RpcProblem.Schema)!);
        foreach (var status in FailureStatuses)
        {
            operation.Responses[status.ToString(CultureInfo.InvariantCulture)] = new OpenApiResponse
            {
                Description = ReasonPhrases.GetReasonPhrase(status) + " (an RFC 9457 problem with a code).",
                Content = new Dictionary<string, OpenApiMediaType> { [RpcProblem.ContentType] = new() { Schema = problem } },
            };
        }

        return Task.CompletedTask;
    }
}

/// <summary>Hands a procedure's description to ASP.NET Core's OpenAPI document.</summary>
internal static class RpcProcedureOpenApi
{
    public static IEndpointConventionBuilder WithDescribedProcedure(this IEndpointConventionBuilder builder, RpcProcedureMetadata metadata) =>
        builder.AddOpenApiOperationTransformer((operation, context, _) => metadata.DescribeAsync(operation, context.Document));
}
