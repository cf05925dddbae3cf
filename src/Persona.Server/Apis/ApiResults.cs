using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Core.Ingestion;

namespace Persona.Server.Apis;

/// <summary>Shared helpers: body parsing into problem details, field errors into validation problems.</summary>
internal static class ApiResults
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Parses the request body as JSON; a malformed body becomes a validation problem naming the line. The body is
    /// checked to be UTF-8 first: the JSON reader decodes strings lazily, so bad bytes inside a string would
    /// otherwise surface later, as a server error, when a field is read.
    /// </summary>
    public static async Task<(JsonDocument? Document, ValidationProblem? Problem)> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(request.ContentLength is > 0 and < int.MaxValue ? (int)request.ContentLength.Value : 4096);
        await request.Body.CopyToAsync(buffer, cancellationToken);
        var body = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        try
        {
            StrictUtf8.GetCharCount(body.Span);
        }
        catch (DecoderFallbackException ex)
        {
            return (null, Problem([new FieldError(null, "body", $"The body is not valid UTF-8 (at byte {ex.Index + 1}).")]));
        }
        try
        {
            // The document keeps the buffer: it is not pooled.
            var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
            return (document, null);
        }
        catch (JsonException ex)
        {
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, byte {ex.BytePositionInLine + 1}" : "";
            return (null, Problem([new FieldError(null, "body", $"The body is not valid JSON{where}.")]));
        }
    }

    /// <summary>RFC 7807 validation problem whose keys are <c>events[3].item_id</c> style paths.</summary>
    public static ValidationProblem Problem(IEnumerable<FieldError> errors, string? collection = null) =>
        TypedResults.ValidationProblem(
            errors.GroupBy(e => Key(e, collection)).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
            detail: "The request was rejected and nothing was stored.",
            title: "One or more fields are invalid.");

    private static string Key(FieldError error, string? collection) =>
        error.Index is { } index && collection is not null ? $"{collection}[{index}].{error.Field}" : error.Field;

    public static ProblemHttpResult NotFound(string title, string detail) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: StatusCodes.Status404NotFound);
}
