using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Twyla.Streams.Hosting.Tests.ServiceDescription;

public sealed record BookingCreated(string BookingId, string Passenger, int Seats);

public sealed record BookingCancelled(string BookingId, string? Reason);

public sealed record BookingConfirmed(string BookingId, DateTimeOffset ConfirmedAt, IReadOnlyList<string> Seats);

public sealed record GetQuote(string BookingId, int Seats);

public sealed record Quote(string BookingId, decimal Amount, string Currency);

public sealed record Shout(string Text);

/// <summary>A real Kestrel host (127.0.0.1, port 0) configured by a test, and a client for its documents.</summary>
internal sealed class ServiceHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly HttpClient _client;

    private ServiceHost(WebApplication app, Uri address)
    {
        _app = app;
        _client = new HttpClient { BaseAddress = address };
    }

    public IServiceProvider Services => _app.Services;

    public static async Task<ServiceHost> StartAsync(Action<WebApplicationBuilder> configure, Action<WebApplication> map)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        configure(builder);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new ServiceHost(app, new Uri(address));
    }

    public async Task<JsonObject> GetJsonAsync(string path)
    {
        using var response = await _client.GetAsync(path);
        response.EnsureSuccessStatusCode();
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        return (await response.Content.ReadFromJsonAsync<JsonNode>())!.AsObject();
    }

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
