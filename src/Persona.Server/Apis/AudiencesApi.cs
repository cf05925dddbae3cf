using System.Text;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Abstractions;
using Persona.Core.Audiences;
using Persona.Core.Ingestion;
using Persona.Hosting;
using Persona.Hosting.Generative;

using Persona.Server.Security;

namespace Persona.Server.Apis;

/// <summary>The published view of an audience: its id and a count that is null (and <c>suppressed</c>) below k.</summary>
public sealed record AudienceCountResponse(string Id, long? Count, bool Suppressed, bool Noised, double? Epsilon, int MinCount, DateTimeOffset CreatedAt);

public static class AudiencesApi
{
    public static IEndpointRouteBuilder MapAudiencesApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/audiences").WithTags("Audiences");
        group.MapPost("/", CreateAsync)
            .WithName("CreateAudience")
            .WithSummary("Count the users a rule selects (segments, tags, affinities, predictions, lifecycle); counts below k are suppressed, ε adds Laplace noise.")
            .Accepts<AudienceRule>("application/json")
            .RequireScope(PersonaScopes.Read)
            // Reads every shopper's profile: O(shop), beyond the request timeout at a million shoppers.
            .DisableRequestTimeout();
        group.MapGet("/{id}", GetAsync).WithName("GetAudience").WithSummary("An audience's rule and published count.").RequireScope(PersonaScopes.Read);
        group.MapGet("/{id}/export", ExportAsync)
            .WithName("ExportAudience")
            .WithSummary("Stream an audience's members as CSV or JSON lines (admin scope; audited).")
            .RequireScope(PersonaScopes.Admin)
            .DisableRequestTimeout();
        group.MapBriefRoutes(BriefKinds.Audience);
        return app;
    }

    public static async Task<Results<Ok<AudienceCountResponse>, ValidationProblem>> CreateAsync(
        HttpRequest request, AudienceService audiences, GroupBriefs briefs, CancellationToken cancellationToken)
    {
        var (document, problem) = await ApiResults.ReadJsonAsync(request, cancellationToken);
        if (problem is not null) return problem;
        using (document)
        {
            var (rule, errors) = AudienceRuleJson.Parse(document!.RootElement);
            if (rule is null) return ApiResults.Problem(errors);
            var audience = await audiences.CreateAsync(rule, cancellationToken);
            // Named and briefed in the background when a chat model is configured; GET …/brief answers meanwhile.
            briefs.Enqueue(BriefKinds.Audience, audience.Id);
            return TypedResults.Ok(Response(audience));
        }
    }

    public static async Task<Results<Ok<AudienceCountResponse>, ProblemHttpResult>> GetAsync(string id, AudienceService audiences, CancellationToken cancellationToken) =>
        await audiences.GetAsync(id, cancellationToken) is { } audience
            ? TypedResults.Ok(Response(audience))
            : ApiResults.NotFound("Audience not found.", $"No audience has the id '{EventBatchReader.Truncate(id)}'.");

    /// <summary>
    /// Streams the members (user id, segment, lifecycle, purchase propensity, churn risk). This lists
    /// individuals, so it needs the admin scope and is written to the audit log. Users who
    /// withdrew marketing consent since the audience was made are left out.
    /// </summary>
    public static async Task<Results<EmptyHttpResult, ValidationProblem, ProblemHttpResult>> ExportAsync(
        string id, string? format, HttpContext context, AudienceService audiences, PersonaEngine engine, CancellationToken cancellationToken)
    {
        format ??= AudienceFormats.Csv;
        if (format is not (AudienceFormats.Csv or AudienceFormats.JsonLines))
            return ApiResults.QueryProblem([new FieldError(null, "format", $"Must be '{AudienceFormats.Csv}' or '{AudienceFormats.JsonLines}'.")]);
        if (await audiences.GetAsync(id, cancellationToken) is not { } audience)
            return ApiResults.NotFound("Audience not found.", $"No audience has the id '{EventBatchReader.Truncate(id)}'.");
        var response = context.Response;
        await engine.Store.AppendAuditAsync(new AuditEntry(DateTimeOffset.UtcNow, context.Actor(), AuditActions.ExportAudience, audience.Id, $"format {format}, {audience.Members.Count} members listed"), cancellationToken);
        response.ContentType = format == AudienceFormats.Csv ? "text/csv; charset=utf-8" : "application/x-ndjson; charset=utf-8";
        response.Headers.ContentDisposition = $"attachment; filename=\"{audience.Id}.{format}\"";
        await using var writer = new StreamWriter(response.Body, new UTF8Encoding(false), bufferSize: 16 * 1024, leaveOpen: true);
        await audiences.ExportAsync(audience, format, writer, cancellationToken);
        return TypedResults.Empty;
    }

    private static AudienceCountResponse Response(AudienceRecord a) =>
        new(a.Id, a.Published.Count, a.Published.Suppressed, a.Published.Noised, a.Published.Epsilon, a.Published.MinCount, a.CreatedAt);
}
