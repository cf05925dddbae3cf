using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Core.Ingestion;

namespace Persona.Server.Apis;

/// <summary>Shared helpers: body parsing into problem details, field errors into validation problems.</summary>
internal static class ApiResults
{
    /// <summary>How deep a request body may nest objects and arrays.</summary>
    public const int MaxJsonDepth = 32;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>
    /// Parses the request body as JSON; a malformed body becomes a validation problem naming the line. The body is
    /// checked to be UTF-8 first: the JSON reader decodes strings lazily, so bad bytes inside a string would
    /// otherwise surface later, as a server error, when a field is read. A body over the size limit throws the
    /// server's 413 <see cref="BadHttpRequestException"/>, which <see cref="BadRequestExceptionHandler"/> answers.
    /// </summary>
    public static async Task<(JsonDocument? Document, ValidationProblem? Problem)> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream(request.ContentLength is > 0 and < int.MaxValue ? (int)request.ContentLength.Value : 4096);
        await request.Body.CopyToAsync(buffer, cancellationToken);
        var body = buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
        if (body.Span.Trim(" \t\r\n"u8).IsEmpty)
            return (null, Problem([new FieldError(null, "body", "The body is empty; send a JSON document.")]));
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
            var document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = MaxJsonDepth });
            return (document, null);
        }
        catch (JsonException ex)
        {
            // The parser stops at the depth limit without saying whether the rest is JSON: read on without a limit to tell.
            if (NestingDepth(body.Span) is { } depth)
                return (null, Problem([new FieldError(null, "body", $"The body is valid JSON but nests {depth:N0} levels deep; at most {MaxJsonDepth} levels are accepted.")]));
            var where = ex.LineNumber is { } line ? $" at line {line + 1}, byte {ex.BytePositionInLine + 1}" : "";
            return (null, Problem([new FieldError(null, "body", $"The body is not valid JSON{where}.")]));
        }
    }

    /// <summary>The deepest nesting of a valid JSON document deeper than <see cref="MaxJsonDepth"/>; null when the text is not valid JSON.</summary>
    private static int? NestingDepth(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = int.MaxValue });
        var deepest = 0;
        try
        {
            while (reader.Read())
                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                    deepest = Math.Max(deepest, reader.CurrentDepth + 1);
        }
        catch (JsonException)
        {
            return null;
        }
        return deepest > MaxJsonDepth ? deepest : null;
    }

    /// <summary>RFC 7807 validation problem of a rejected write, whose keys are <c>events[3].item_id</c> style paths.</summary>
    public static ValidationProblem Problem(IEnumerable<FieldError> errors, string? collection = null) =>
        TypedResults.ValidationProblem(
            errors.GroupBy(e => Key(e, collection)).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
            detail: "The request was rejected and nothing was stored.",
            title: "One or more fields are invalid.");

    /// <summary>RFC 7807 validation problem of a read whose query parameters are invalid (reads store nothing, so they do not say so).</summary>
    public static ValidationProblem QueryProblem(IEnumerable<FieldError> errors) =>
        TypedResults.ValidationProblem(
            errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
            detail: "The query string was rejected; see the parameters named in errors.",
            title: "One or more query parameters are invalid.");

    private static string Key(FieldError error, string? collection) =>
        error.Index is { } index && collection is not null ? $"{collection}[{index}].{error.Field}" : error.Field;

    public static ProblemHttpResult NotFound(string title, string detail) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: StatusCodes.Status404NotFound);

    public static ProblemHttpResult Conflict(string title, string detail) =>
        TypedResults.Problem(title: title, detail: detail, statusCode: StatusCodes.Status409Conflict);
}
