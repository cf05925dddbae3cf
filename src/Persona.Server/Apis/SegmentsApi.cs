using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Core.Models.Segments;
using Persona.Hosting;
using Persona.Hosting.Generative;

using Persona.Server.Security;

namespace Persona.Server.Apis;

/// <summary>Segments for the dashboard: labels, sizes, and a sample of users on the 2-D PCA map (no user ids).</summary>
public sealed record SegmentsResponse(
    string Version, DateTimeOffset ComputedAt, int K, double Silhouette, IReadOnlyList<SegmentInfo> Segments,
    IReadOnlyList<SegmentPoint> Projection, RefreshSummary? LastRefresh, IReadOnlyList<GroupBrief> Briefs);

public sealed record SegmentPoint(string SegmentId, double X, double Y);

public static class SegmentsApi
{
    public static IEndpointRouteBuilder MapSegmentsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/segments").WithTags("Segments");
        group.MapGet("/", Get).WithName("GetSegments").WithSummary("Current segments with bilingual labels, sizes and a 2-D projection sample.").RequireScope(PersonaScopes.Read);
        group.MapPost("/refresh", RefreshAsync)
            .WithName("RefreshModels")
            .WithSummary("Retrain the predictions and re-segment now (admin scope; audited); returns what was done and how long it took.")
            .RequireScope(PersonaScopes.Admin)
            // O(shop): minutes at a million shoppers, so not cut off (and cancelled) by the request timeout; a client
            // that disconnects still cancels it.
            .DisableRequestTimeout();
        group.MapBriefRoutes(BriefKinds.Segment);
        return app;
    }

    public static async Task<Results<Ok<SegmentsResponse>, ProblemHttpResult>> Get(PersonaModels models, GroupBriefs briefs, CancellationToken cancellationToken)
    {
        if (models.Segments is not { } m)
            return ApiResults.NotFound("No segments yet.", "Segments are computed by the scheduled refresh or POST /v1/segments/refresh once enough users have events.");
        var sample = m.ProjectionSample(models.Options.ProjectionSample).Select(p => new SegmentPoint(p.SegmentId, p.X, p.Y)).ToList();
        var written = new List<GroupBrief>();
        foreach (var segment in m.Segments)
            if (await briefs.GetAsync(BriefKinds.Segment, segment.Id, cancellationToken) is { } brief) written.Add(brief);
        return TypedResults.Ok(new SegmentsResponse(m.Version, m.ComputedAt, m.K, m.Silhouette, m.Segments, sample, models.LastRefresh, written));
    }

    public static async Task<Ok<RefreshSummary>> RefreshAsync(HttpContext context, PersonaModels models, CancellationToken cancellationToken)
    {
        var summary = await models.RefreshAsync(cancellationToken);
        await models.Engine.Store.AppendAuditAsync(new Abstractions.AuditEntry(DateTimeOffset.UtcNow, context.Actor(), AuditActions.RefreshModels, "models",
            $"{summary.Users} users, predictions {summary.PredictionModel ?? "none"}, segments {summary.SegmentModel ?? "none"}"), cancellationToken);
        return TypedResults.Ok(summary);
    }
}
