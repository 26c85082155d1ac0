using System.Text.Json;
using System.Text.Json.Nodes;
using Akka.Hosting;
using Json.Schema;
using Microsoft.Extensions.DependencyInjection;
using Twyla.Streams.Contracts;
using Twyla.Streams.Hosting.Rpc;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.ServiceDescription;

/// <summary>
/// The AsyncAPI document of a service with two hosted listeners, one declared emit and one procedure, served by
/// <c>MapTwylaAsyncApi</c> on a real Kestrel host with the in-memory broker.
/// </summary>
public sealed class AsyncApiDocumentTests : IAsyncLifetime
{
    private static readonly Lazy<JsonSchema> AsyncApiSchema = new(() =>
        JsonSchema.FromFile(Path.Combine(AppContext.BaseDirectory, "ServiceDescription", "asyncapi-3.0.0.schema.json")));

    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.List };

    private ServiceHost? _host;
    private JsonObject _document = [];

    public async Task InitializeAsync()
    {
        _host = await ServiceHost.StartAsync(
            builder =>
            {
                builder.Services.AddTwylaEvents(o =>
                {
                    o.Transport = TwylaTransport.InMemory;
                    o.ServiceName = "booking-service";
                });
                builder.Services.AddTwylaEmits<BookingConfirmed>("booking.confirmed");
                builder.Services.AddAkka("asyncapi-tests", (akka, _) => akka
                    .WithTwylaListener<BookingCreated>("booking.created", "billing", _ => Task.CompletedTask)
                    .WithTwylaListener<BookingCancelled>("booking.*", "audit", _ => Task.CompletedTask));
            },
            app =>
            {
                app.MapRpc<GetQuote, Quote>("get_quote", (q, _) => Task.FromResult(new Quote(q.BookingId, 10m * q.Seats, "EUR")));
                app.MapTwylaAsyncApi();
            });
        _document = await _host.GetJsonAsync(TwylaServiceDescriptionExtensions.AsyncApiPath);
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.DisposeAsync();
        }
    }

    [Fact]
    public void The_document_should_validate_against_the_AsyncAPI_3_0_schema()
    {
        var results = AsyncApiSchema.Value.Evaluate(JsonSerializer.SerializeToElement(_document), Evaluation);

        Assert.True(results.IsValid, Problems(results));
        Assert.Equal("3.0.0", (string?)_document["asyncapi"]);
        Assert.Equal("booking-service", (string?)_document["info"]!["title"]);
    }

    [Fact]
    public void The_schema_should_reject_an_operation_without_an_action()
    {
        // The shipped schema is not vacuous: the same document with one operation broken fails.
        var broken = _document.DeepClone().AsObject();
        var operation = broken["operations"]!.AsObject().First().Value!.AsObject();
        operation.Remove("action");

        Assert.False(AsyncApiSchema.Value.Evaluate(JsonSerializer.SerializeToElement(broken), Evaluation).IsValid);
    }

    [Fact]
    public void The_document_should_list_exactly_the_listeners_the_declared_emit_and_the_procedure()
    {
        var operations = _document["operations"]!.AsObject()
            .Select(o => (Action: (string)o.Value!["action"]!, Address: Address(o.Value!), Group: (string?)o.Value!["x-twyla-group"]))
            .OrderBy(o => o.Action).ThenBy(o => o.Address)
            .ToList();
        Assert.Equal(
            [("receive", "booking.*", "audit"), ("receive", "booking.created", "billing"), ("send", "booking.confirmed", null)],
            operations);

        var channels = _document["channels"]!.AsObject().Select(c => (string)c.Value!["address"]!).Order().ToList();
        Assert.Equal(["booking.*", "booking.confirmed", "booking.created"], channels);

        var procedure = Assert.Single(_document["x-twyla-procedures"]!.AsArray());
        Assert.Equal("get_quote", (string?)procedure!["name"]);
        Assert.Equal("/rpc/get_quote", (string?)procedure["path"]);
        Assert.Equal("POST", (string?)procedure["method"]);
    }

    [Fact]
    public void Each_message_should_carry_the_CloudEvents_headers_and_the_contract_schema_of_its_payload()
    {
        var json = _host!.Services.GetRequiredService<EventBus>().Settings.JsonOptions;
        AssertMessage("booking.created", ContractSchema.For<BookingCreated>(json));
        AssertMessage("booking.*", ContractSchema.For<BookingCancelled>(json));
        AssertMessage("booking.confirmed", ContractSchema.For<BookingConfirmed>(json));
    }

    private void AssertMessage(string address, JsonNode expectedPayload)
    {
        var channel = _document["channels"]!.AsObject().Single(c => (string?)c.Value!["address"] == address).Value!;
        var message = Assert.Single(channel["messages"]!.AsObject()).Value!;
        Assert.True(JsonNode.DeepEquals(expectedPayload, message["payload"]), $"{address}: {message["payload"]?.ToJsonString()}");
        var headers = message["headers"]!["properties"]!.AsObject().Select(h => h.Key).ToList();
        Assert.Subset(
            new HashSet<string>(headers),
            new HashSet<string> { "cloudEvents_specversion", "cloudEvents_id", "cloudEvents_type", "cloudEvents_source", "cloudEvents_time", "cloudEvents_correlationid", "cloudEvents_dataversion" });
    }

    private string Address(JsonNode operation)
    {
        var channelRef = (string)operation["channel"]!["$ref"]!;
        var channelId = channelRef["#/channels/".Length..];
        return (string)_document["channels"]![channelId]!["address"]!;
    }

    private static string Problems(EvaluationResults results) =>
        string.Join(Environment.NewLine, (results.Details ?? []).Where(d => d.Errors is { Count: > 0 })
            .Select(d => $"{d.InstanceLocation} ({d.EvaluationPath}): {string.Join("; ", d.Errors!.Values)}"));
}
