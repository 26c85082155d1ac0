using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;

namespace Twyla.Streams.Hosting.Rpc;

/// <summary>Writes RFC 9457 problems (<c>application/problem+json</c>) with a <c>code</c> extension.</summary>
internal static class RpcProblem
{
    public const string ContentType = "application/problem+json";

    /// <summary>The JSON Schema of what <see cref="WriteAsync"/> writes (for the OpenAPI document).</summary>
    public const string Schema = """
        {
          "type": "object",
          "properties": {
            "type": { "type": "string" },
            "title": { "type": "string" },
            "status": { "type": "integer" },
            "detail": { "type": "string" },
            "instance": { "type": "string" },
            "code": { "type": "string" },
            "member": { "type": "string" },
            "correlationId": { "type": "string" }
          },
          "required": ["type", "title", "status", "detail", "code"]
        }
        """;

    public static async Task WriteAsync(HttpContext http, int status, string code, string detail, string correlationId, string? member = null)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteString("type", "about:blank");
            writer.WriteString("title", ReasonPhrases.GetReasonPhrase(status));
            writer.WriteNumber("status", status);
            writer.WriteString("detail", detail);
            writer.WriteString("instance", http.Request.Path.Value);
            writer.WriteString("code", code);
            if (member is not null)
            {
                writer.WriteString("member", member);
            }

            if (correlationId.Length > 0)
            {
                writer.WriteString("correlationId", correlationId);
            }

            writer.WriteEndObject();
        }

        http.Response.StatusCode = status;
        http.Response.ContentType = ContentType;
        http.Response.ContentLength = buffer.WrittenCount;
        await http.Response.Body.WriteAsync(buffer.WrittenMemory, CancellationToken.None).ConfigureAwait(false);
    }
}
