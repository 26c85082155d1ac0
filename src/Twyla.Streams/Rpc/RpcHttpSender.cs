using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Twyla.Streams.Rpc;

/// <summary>
/// Sends one HTTP attempt of a call (<c>POST</c> with the JSON body, the correlation id, the remaining deadline and
/// the trace context) and maps what came back: a 2xx body, an error with a failure code (from the status, or the
/// <c>code</c> of an RFC 9457 problem document), or the deadline passing. Never throws for a failed attempt.
/// </summary>
internal sealed class RpcHttpSender(HttpClient http)
{
    /// <summary>The client's own HTTP client when none is given: pooled connections renewed every 2 minutes, no redirects or cookies, no timeout of its own (calls have deadlines).</summary>
    public static HttpClient CreateHttpClient() =>
        new(new SocketsHttpHandler
        {
            PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            AllowAutoRedirect = false,
            UseCookies = false,
        })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };

    public async Task<RpcAttempt> SendAsync(RpcCall call)
    {
        try
        {
            using var message = new HttpRequestMessage(HttpMethod.Post, call.Target.Endpoint) { Content = new ByteArrayContent(call.Body) };
            message.Content.Headers.TryAddWithoutValidation("Content-Type", "application/json; charset=utf-8");
            var headers = message.Headers;
            headers.TryAddWithoutValidation(RpcHeaders.CorrelationId, call.CorrelationId);
            // rounded up, so the server never gives up before the client does
            var remaining = call.Timeout - Stopwatch.GetElapsedTime(call.Start);
            headers.TryAddWithoutValidation(RpcHeaders.DeadlineMs, Math.Max(1, (long)Math.Ceiling(remaining.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture));
            if (call.TraceParent is not null)
            {
                headers.TryAddWithoutValidation(RpcHeaders.TraceParent, call.TraceParent);
                if (!string.IsNullOrEmpty(call.TraceState))
                {
                    headers.TryAddWithoutValidation(RpcHeaders.TraceState, call.TraceState);
                }
            }

            using var response = await http.SendAsync(message, call.Token).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(call.Token).ConfigureAwait(false);
            return response.IsSuccessStatusCode
                ? RpcAttempt.Ok(bytes, (int)response.StatusCode)
                : MapErrorResponse(response, bytes);
        }
        catch (OperationCanceledException) when (call.Token.IsCancellationRequested)
        {
            return RpcAttempt.TimedOut;
        }
        catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
        {
            return RpcAttempt.TimedOut; // a borrowed HttpClient's own Timeout
        }
        catch (HttpRequestException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
        {
            return RpcAttempt.Error(
                RpcFailureCodes.ConnectionRefused,
                $"Connection refused by {call.Target.Endpoint!.Authority} (service '{call.Target.Service}').",
                0,
                transient: true);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            return RpcAttempt.Error(RpcFailureCodes.TransportError, $"Calling '{call.Target.Procedure}' failed: {e.Message}", 0, transient: true);
        }
    }

    private static RpcAttempt MapErrorResponse(HttpResponseMessage response, byte[] body)
    {
        var status = (int)response.StatusCode;
        var transient = status is >= 500 and not 501 and not 505 || response.StatusCode is HttpStatusCode.RequestTimeout or HttpStatusCode.TooManyRequests;
        var code = status switch
        {
            400 => RpcFailureCodes.BadRequest,
            404 => RpcFailureCodes.NotFound,
            413 => RpcFailureCodes.PayloadTooLarge,
            >= 500 => RpcFailureCodes.ServerError,
            _ => RpcFailureCodes.HttpError,
        };
        var message = $"HTTP {status} {response.ReasonPhrase}".TrimEnd();
        var mediaType = response.Content.Headers.ContentType?.MediaType;
        if (body.Length > 0 && mediaType is not null && mediaType.EndsWith("json", StringComparison.OrdinalIgnoreCase))
        {
            try
            {
                using var problem = JsonDocument.Parse(body);
                if (problem.RootElement.ValueKind == JsonValueKind.Object)
                {
                    if (problem.RootElement.TryGetProperty("code", out var c) && c.ValueKind == JsonValueKind.String && c.GetString() is { Length: > 0 } problemCode)
                    {
                        code = problemCode;
                    }

                    if (problem.RootElement.TryGetProperty("detail", out var d) && d.ValueKind == JsonValueKind.String)
                    {
                        message = d.GetString()!;
                    }
                    else if (problem.RootElement.TryGetProperty("title", out var t) && t.ValueKind == JsonValueKind.String)
                    {
                        message = t.GetString()!;
                    }
                }
            }
            catch (JsonException)
            {
                // not a problem document: keep the status-based code
            }
        }

        return code == RpcFailureCodes.DeadlineExceeded
            ? RpcAttempt.TimedOut // the server saw our deadline pass before our own timer fired
            : RpcAttempt.Error(code, message, status, transient);
    }
}
