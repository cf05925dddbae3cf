using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Core.Ingestion;

namespace Persona.Server.Apis;

/// <summary>Shared helpers: body parsing into problem details, field errors into validation problems.</summary>
internal static class ApiResults
{
    /// <summary>Parses the request body as JSON; a malformed body becomes a validation problem naming the line.</summary>
    public static async Task<(JsonDocument? Document, ValidationProblem? Problem)> ReadJsonAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            var document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 32 }, cancellationToken);
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
