using Persona.Core.Ingestion;
using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Persona.Server.Json;
using Persona.Server.Security;

namespace Persona.Server.Apis;

/// <summary>
/// Answers the server's own <see cref="BadHttpRequestException"/>s with problem details instead of a 500: a body over
/// <see cref="PersonaSecurityOptions.MaxRequestBodyBytes"/> (413, however it was sent: Content-Length or chunked) and a
/// query parameter that does not bind to its type (400 naming the parameter, e.g. <c>limit=99999999999</c>).
/// </summary>
internal sealed partial class BadRequestExceptionHandler(IProblemDetailsService problems, IOptions<PersonaSecurityOptions> security) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad || httpContext.Response.HasStarted) return false;
        httpContext.Response.StatusCode = bad.StatusCode;
        var problem = bad.StatusCode == StatusCodes.Status413PayloadTooLarge
            ? TooLarge(security.Value.MaxRequestBodyBytes)
            : Binding(bad) ?? new ProblemDetails { Status = bad.StatusCode, Title = "The request is not valid.", Detail = bad.Message };
        return await problems.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
    }

    /// <summary>The 413 answer; also written before the body is read when Content-Length already says it is too large.</summary>
    public static ProblemDetails TooLarge(long limit) => new()
    {
        Status = StatusCodes.Status413PayloadTooLarge,
        Title = "The request body is too large.",
        Detail = $"Bodies are limited to {limit.ToString("N0", CultureInfo.InvariantCulture)} bytes (Persona:Security:MaxRequestBodyBytes); the request was rejected and nothing was stored.",
        Extensions = { ["max_request_body_bytes"] = limit },
    };

    /// <summary>A parameter the framework could not bind, as a validation problem keyed by the parameter's name; null for other errors.</summary>
    private static HttpValidationProblemDetails? Binding(BadHttpRequestException exception)
    {
        var match = BindingFailure().Match(exception.Message);
        if (!match.Success) return null;
        var type = match.Groups["type"].Value;
        var name = match.Groups["name"].Value;
        var message = match.Groups["value"].Success
            ? $"'{EventBatchReader.Truncate(match.Groups["value"].Value)}' is not {Describe(type)}."
            : $"Required: {Describe(type)}.";
        return new HttpValidationProblemDetails(new Dictionary<string, string[]> { [name] = [message] })
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "One or more query parameters are invalid.",
            Detail = "The request was rejected; see the parameters named in errors.",
        };
    }

    private static string Describe(string type) => type.TrimEnd('?') switch
    {
        "int" => "a whole number within ±2,147,483,647",
        "long" => "a whole number",
        "double" or "float" or "decimal" => "a number",
        "bool" => "true or false",
        "DateTimeOffset" or "DateTime" => "an ISO-8601 date and time",
        _ => "a valid value",
    };

    // The framework's messages: 'Failed to bind parameter "int? limit" from "abc".' and 'Required parameter "string q" was not provided from query string.'
    [GeneratedRegex("""^(?:Failed to bind|Required) parameter "(?<type>[^"]+) (?<name>[^" ]+)"(?: from "(?<value>.*)"\.$)?""", RegexOptions.Singleline)]
    private static partial Regex BindingFailure();
}
