using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Core.Ingestion;
using Persona.Generative.Briefs;
using Persona.Hosting.Generative;
using Persona.Server.Security;

namespace Persona.Server.Apis;

/// <summary>
/// <c>GET|PUT|DELETE /v1/segments/{id}/brief</c> and <c>/v1/audiences/{id}/brief</c>: a group's name and one-line brief in
/// both languages (docs/generative.md, step 4); an admin's stands until cleared.
/// </summary>
public static class BriefsApi
{
    public static RouteGroupBuilder MapBriefRoutes(this RouteGroupBuilder group, string kind)
    {
        ArgumentNullException.ThrowIfNull(group);
        var noun = kind == BriefKinds.Segment ? "segment" : "audience";
        group.MapGet("/{id}/brief", (string id, GroupBriefs briefs, CancellationToken cancellationToken) => GetAsync(kind, id, briefs, cancellationToken))
            .WithName($"Get{Title(noun)}Brief")
            .WithSummary($"The {noun}'s name and one-line marketing brief in English and Chinese, from its dominant tags: an admin's, the chat model's, or the template's.")
            .RequireScope(PersonaScopes.Read);
        group.MapPut("/{id}/brief", (string id, HttpRequest request, HttpContext context, GroupBriefs briefs, CancellationToken cancellationToken) =>
                SetAsync(kind, id, request, context, briefs, cancellationToken))
            .WithName($"Set{Title(noun)}Brief")
            .WithSummary($"Write the {noun}'s name and brief by hand (name_en, name_zh, brief_en, brief_zh); it stands until cleared; audited.")
            .RequireScope(PersonaScopes.Admin);
        group.MapDelete("/{id}/brief", (string id, HttpContext context, GroupBriefs briefs, CancellationToken cancellationToken) =>
                ClearAsync(kind, id, context, briefs, cancellationToken))
            .WithName($"Clear{Title(noun)}Brief")
            .WithSummary($"Drop the hand-written name and brief of the {noun}: the model's or the template's answers again; audited.")
            .RequireScope(PersonaScopes.Admin);
        return group;
    }

    private static string Title(string noun) => char.ToUpperInvariant(noun[0]) + noun[1..];

    public static async Task<Results<Ok<GroupBrief>, ProblemHttpResult>> GetAsync(string kind, string id, GroupBriefs briefs, CancellationToken cancellationToken) =>
        await briefs.GetAsync(kind, id, cancellationToken) is { } brief ? TypedResults.Ok(brief) : NotFound(kind, id);

    public static async Task<Results<Ok<GroupBrief>, ValidationProblem, ProblemHttpResult>> SetAsync(
        string kind, string id, HttpRequest request, HttpContext context, GroupBriefs briefs, CancellationToken cancellationToken)
    {
        var (document, problem) = await ApiResults.ReadJsonAsync(request, cancellationToken);
        if (problem is not null) return problem;
        using (document)
        {
            var root = document!.RootElement;
            var errors = new List<FieldError>();
            string Field(string name, int max)
            {
                if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(name, out var value) || value.ValueKind != JsonValueKind.String
                    || string.IsNullOrWhiteSpace(value.GetString()))
                {
                    errors.Add(new FieldError(null, name, "Required: a non-empty string."));
                    return "";
                }
                var text = value.GetString()!.Trim();
                if (text.Length > max) errors.Add(new FieldError(null, name, $"At most {max} characters."));
                return text;
            }
            var text = new BriefText(
                Field("name_en", BriefCheck.MaxNameLength), Field("name_zh", BriefCheck.MaxNameLength),
                Field("brief_en", BriefCheck.MaxBriefLength), Field("brief_zh", BriefCheck.MaxBriefLength), []);
            if (errors.Count > 0) return ApiResults.Problem(errors);
            return await briefs.SetAsync(kind, id, text, context.Actor(), cancellationToken) is { } brief ? TypedResults.Ok(brief) : NotFound(kind, id);
        }
    }

    public static async Task<Results<Ok<GroupBrief>, ProblemHttpResult>> ClearAsync(
        string kind, string id, HttpContext context, GroupBriefs briefs, CancellationToken cancellationToken) =>
        await briefs.ClearAsync(kind, id, context.Actor(), cancellationToken) is { } brief ? TypedResults.Ok(brief) : NotFound(kind, id);

    private static ProblemHttpResult NotFound(string kind, string id) =>
        ApiResults.NotFound($"No such {kind}.", kind == BriefKinds.Segment
            ? $"The current segmentation has no segment '{EventBatchReader.Truncate(id)}'."
            : $"No audience has the id '{EventBatchReader.Truncate(id)}'.");
}
