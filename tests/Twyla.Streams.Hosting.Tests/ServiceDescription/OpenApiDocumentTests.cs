using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Hosting;
using Akka.Streams.Dsl;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Twyla.Streams.Contracts;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.ServiceDescription;

/// <summary>ASP.NET Core's OpenAPI document (<c>AddOpenApi</c>/<c>MapOpenApi</c>) lists the procedures served with MapRpc and MapRpcFlow.</summary>
public sealed class OpenApiDocumentTests
{
    /// <summary>Snake case, unlike ASP.NET Core's defaults: the document must show what the procedures really read and write.</summary>
    private static readonly JsonSerializerOptions ProcedureJson = new(EventBusSettings.DefaultJsonOptions)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
    };

    [Fact]
    public async Task The_OpenAPI_document_should_list_every_procedure_with_its_request_response_and_problem_schemas()
    {
        await using var host = await ServiceHost.StartAsync(
            builder =>
            {
                builder.Services.Configure<RpcServerOptions>(o => o.JsonOptions = ProcedureJson);
                builder.Services.AddOpenApi();
                builder.Services.AddAkka("openapi-tests", _ => { });
            },
            app =>
            {
                app.MapRpc<GetQuote, Quote>("get_quote", (q, _) => Task.FromResult(new Quote(q.BookingId, 10m * q.Seats, "EUR")));
                app.MapRpcFlow("shout", FlowWithContext.Create<Shout, RpcContext>().Select(s => new Shout(s.Text.ToUpperInvariant())));
                app.MapOpenApi();
            });

        var document = await host.GetJsonAsync("/openapi/v1.json");

        var paths = document["paths"]!.AsObject();
        Assert.Equal(["/rpc/get_quote", "/rpc/shout"], paths.Select(p => p.Key).Order());
        AssertProcedure(paths["/rpc/get_quote"]!, typeof(GetQuote), typeof(Quote));
        AssertProcedure(paths["/rpc/shout"]!, typeof(Shout), typeof(Shout));
    }

    private static void AssertProcedure(JsonNode path, Type request, Type response)
    {
        var post = path.AsObject().Single().Value!;
        Assert.Equal("post", path.AsObject().Single().Key);
        AssertSchema(ContractSchema.For(request, ProcedureJson), post["requestBody"]!["content"]!["application/json"]!["schema"]!);
        AssertSchema(ContractSchema.For(response, ProcedureJson), post["responses"]!["200"]!["content"]!["application/json"]!["schema"]!);
        foreach (var status in new[] { "400", "413", "500", "504" })
        {
            var problem = post["responses"]![status]!["content"]!["application/problem+json"]!["schema"]!;
            Assert.Contains("code", problem["required"]!.AsArray().Select(r => (string?)r));
        }
    }

    /// <summary>The same members, required members and member types as the contract schema.</summary>
    private static void AssertSchema(JsonNode expected, JsonNode actual)
    {
        var expectedProperties = expected["properties"]!.AsObject();
        var actualProperties = actual["properties"]!.AsObject();
        Assert.Equal(expectedProperties.Select(p => p.Key).Order(), actualProperties.Select(p => p.Key).Order());
        Assert.Equal(
            expected["required"]!.AsArray().Select(r => (string?)r).Order(),
            actual["required"]!.AsArray().Select(r => (string?)r).Order());
        foreach (var (name, schema) in expectedProperties)
        {
            Assert.True(JsonNode.DeepEquals(schema!["type"], actualProperties[name]!["type"]), $"{name}: {actualProperties[name]!.ToJsonString()} vs {schema!.ToJsonString()}");
        }
    }
}
