using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Twyla.Streams.Hosting.Rpc;
using Twyla.Streams.Rpc;

namespace Twyla.Streams.TestKit;

/// <summary>
/// Procedures of other services, served in this process for an <see cref="RpcClient"/> under test (made with
/// <see cref="CreateClient(RpcClientSettings)"/>): a handler per procedure, or an answer with a failure code, after a
/// delay, or none at all. Calls go through the client's serialization, deadline, retries and result mapping, and the
/// procedures are served by the same endpoint code as <c>MapRpc</c>, so a test gets every
/// <see cref="RpcResult{T}"/> a real call can end in: Success, Failure (with the code and status the fake gave, or
/// <c>unknown_procedure</c> for a procedure it does not serve, <c>connection_refused</c> for a service it does not know) and
/// Timeout. Answers can be changed between calls; thread-safe.
/// </summary>
public sealed class FakeProcedures
{
    private const string Host = "twyla-fake-procedures";

    private readonly ConcurrentDictionary<string, Func<HttpContext, Task>?> _answers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TimeSpan> _delays = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<FakeCall> _calls = new();
    private readonly IServiceProvider _server;

    /// <summary>Fake procedures that read and write JSON with <see cref="EventBusSettings.DefaultJsonOptions"/> (the clients' default).</summary>
    public FakeProcedures()
        : this(EventBusSettings.DefaultJsonOptions)
    {
    }

    /// <summary>Fake procedures that read and write JSON with <paramref name="jsonOptions"/> (as a server with <c>RpcServerOptions.JsonOptions</c>).</summary>
    /// <param name="jsonOptions">The server's JSON options.</param>
    public FakeProcedures(JsonSerializerOptions jsonOptions)
    {
        ArgumentNullException.ThrowIfNull(jsonOptions);
        jsonOptions.MakeReadOnly(populateMissingResolver: true);
        _server = new ServiceCollection()
            .AddSingleton(Options.Create(new RpcServerOptions { JsonOptions = jsonOptions }))
            .BuildServiceProvider();
    }

    /// <summary>Every call received so far, in order.</summary>
    public IReadOnlyList<FakeCall> Calls => [.. _calls];

    /// <summary>The calls of <paramref name="procedure"/> received so far, in order.</summary>
    /// <param name="procedure">A qualified name, <c>service.procedure</c>.</param>
    /// <returns>The calls.</returns>
    public IReadOnlyList<FakeCall> CallsTo(string procedure) => [.. _calls.Where(c => c.Procedure == procedure)];

    /// <summary>
    /// Serves <paramref name="procedure"/> with <paramref name="handler"/>, as <c>MapRpc</c> does: the request is
    /// deserialized and validated, the token fires at the caller's deadline, an <see cref="RpcException"/> answers with its
    /// code and status, any other exception with 500 <c>internal_error</c>.
    /// </summary>
    /// <typeparam name="TRequest">The request type.</typeparam>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">A qualified name, <c>service.procedure</c>.</param>
    /// <param name="handler">The procedure.</param>
    public void Serve<TRequest, TResponse>(string procedure, Func<TRequest, CancellationToken, Task<TResponse>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var (_, name) = RpcProcedureName.Parse(procedure, nameof(procedure));
        var endpoint = new RpcEndpoint<TRequest, TResponse>(name, handler, _server);
        _answers[procedure] = endpoint.HandleAsync;
    }

    /// <summary>Answers every call of <paramref name="procedure"/> with <paramref name="response"/>, whatever the request.</summary>
    /// <typeparam name="TResponse">The response type.</typeparam>
    /// <param name="procedure">A qualified name, <c>service.procedure</c>.</param>
    /// <param name="response">The response (not null).</param>
    public void Respond<TResponse>(string procedure, TResponse response)
    {
        ArgumentNullException.ThrowIfNull(response);
        Serve<JsonElement, TResponse>(procedure, (_, _) => Task.FromResult(response));
    }

    /// <summary>
    /// Answers every call of <paramref name="procedure"/> with a problem: the caller gets a Failure with
    /// <paramref name="code"/>, <paramref name="message"/> and <paramref name="status"/> (a 5xx status or 408/429 is
    /// transient: the client retries it as its call settings say).
    /// </summary>
    /// <param name="procedure">A qualified name, <c>service.procedure</c>.</param>
    /// <param name="code">The failure code: lower-case letters, digits and '_', e.g. <c>booking_not_found</c>.</param>
    /// <param name="message">The explanation.</param>
    /// <param name="status">An HTTP error status, 400 to 599.</param>
    public void Fail(string procedure, string code, string message, int status)
    {
        _ = new RpcException(code, message, status); // checks the code and the status now, not at the first call
        Serve<JsonElement, JsonElement>(procedure, (_, _) => throw new RpcException(code, message, status));
    }

    /// <summary>
    /// Never answers calls of <paramref name="procedure"/>: each one waits until the caller gives up, so it ends as a
    /// Timeout at its deadline (or a Failure <c>cancelled</c> when its token is cancelled first).
    /// </summary>
    /// <param name="procedure">A qualified name, <c>service.procedure</c>.</param>
    public void NoAnswer(string procedure)
    {
        _ = RpcProcedureName.Parse(procedure, nameof(procedure));
        _answers[procedure] = null;
    }

    /// <summary>
    /// Makes every call of <paramref name="procedure"/> take <paramref name="delay"/> before it is answered as set up
    /// (a delay beyond the caller's deadline ends the call as a Timeout); <see cref="TimeSpan.Zero"/> removes the delay.
    /// </summary>
    /// <param name="procedure">A qualified name, <c>service.procedure</c>.</param>
    /// <param name="delay">The time each call takes.</param>
    public void Delay(string procedure, TimeSpan delay)
    {
        _ = RpcProcedureName.Parse(procedure, nameof(procedure));
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        _delays[procedure] = delay;
    }

    /// <summary>A client with default settings whose every service is served by these fakes.</summary>
    /// <returns>The client.</returns>
    public RpcClient CreateClient() => CreateClient(RpcClientSettings.Create());

    /// <summary>
    /// A client with <paramref name="settings"/> (timeouts, retries, JSON options, circuit breakers) whose every
    /// service is served by these fakes: configured service addresses and the URL template are replaced, so no call
    /// leaves the process.
    /// </summary>
    /// <param name="settings">The client's settings.</param>
    /// <returns>The client.</returns>
    public RpcClient CreateClient(RpcClientSettings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
#pragma warning disable CA2000 // the client borrows the HttpClient; it holds nothing but the handler, which holds nothing
        var http = new HttpClient(new Handler(this), disposeHandler: true) { Timeout = Timeout.InfiniteTimeSpan };
#pragma warning restore CA2000
        return new RpcClient(http, settings.WithServices(new Dictionary<string, Uri>()).WithUrlTemplate($"http://{Host}/{{service}}"));
    }

    private async Task<HttpResponseMessage> AnswerAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // http://{Host}/{service}/rpc/{procedure}
        var segments = request.RequestUri!.AbsolutePath.Trim('/').Split('/');
        var service = segments[0];
        var procedure = $"{service}.{segments[^1]}";
        var body = request.Content is null ? [] : await request.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var correlationId = request.Headers.TryGetValues(RpcHeaders.CorrelationId, out var ids) ? ids.First() : string.Empty;
        TimeSpan? deadline = request.Headers.TryGetValues(RpcHeaders.DeadlineMs, out var ms) &&
                             long.TryParse(ms.First(), NumberStyles.None, CultureInfo.InvariantCulture, out var millis)
            ? TimeSpan.FromMilliseconds(millis)
            : null;

        if (!_answers.Keys.Any(p => p.StartsWith(service + ".", StringComparison.Ordinal)))
        {
            throw new HttpRequestException(
                $"No fake procedure of service '{service}' is set up (FakeProcedures.Serve, Respond, Fail or NoAnswer).",
                new SocketException((int)SocketError.ConnectionRefused));
        }

        _calls.Enqueue(new FakeCall(procedure, Encoding.UTF8.GetString(body), correlationId, deadline));
        if (_delays.TryGetValue(procedure, out var delay) && delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
        }

        if (!_answers.TryGetValue(procedure, out var answer))
        {
            answer = RpcEndpointRouteBuilderExtensions.UnknownProcedureAsync; // as a server that does not serve it
        }
        else if (answer is null)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
        }

        var http = new DefaultHttpContext();
        http.Request.Method = HttpMethods.Post;
        http.Request.Path = request.RequestUri.AbsolutePath[(service.Length + 1)..];
        http.Request.RouteValues["rest"] = segments[^1];
        foreach (var (key, values) in request.Headers.Concat(request.Content?.Headers ?? Enumerable.Empty<KeyValuePair<string, IEnumerable<string>>>()))
        {
            http.Request.Headers[key] = values.ToArray();
        }

        using var requestBody = new MemoryStream(body, writable: false);
        using var responseBody = new MemoryStream();
        http.Request.Body = requestBody;
        http.Request.ContentLength = body.Length;
        http.Response.Body = responseBody;
        http.RequestAborted = cancellationToken;
        await answer!(http).ConfigureAwait(false);
        await http.Response.BodyWriter.FlushAsync(cancellationToken).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested(); // the caller gave up: it reads no answer

        var response = new HttpResponseMessage((HttpStatusCode)http.Response.StatusCode)
        {
            RequestMessage = request,
            Content = new ByteArrayContent(responseBody.ToArray()),
        };
        foreach (var (key, values) in http.Response.Headers)
        {
            if (string.Equals(key, "Content-Type", StringComparison.OrdinalIgnoreCase))
            {
                response.Content.Headers.TryAddWithoutValidation(key, values.ToArray());
            }
            else
            {
                response.Headers.TryAddWithoutValidation(key, values.ToArray());
            }
        }

        return response;
    }

    private sealed class Handler(FakeProcedures fakes) : HttpMessageHandler
    {
        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
            fakes.AnswerAsync(request, cancellationToken);
    }
}
