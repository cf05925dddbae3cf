using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Abstractions;
using Persona.Core.Ingestion;
using Persona.Core.Online;
using Persona.Hosting.Online;
using Persona.Server.Security;

namespace Persona.Server.Apis;

/// <summary>The body of <c>POST /v1/experiments</c>.</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ExperimentRequest(string? Id, string? Name, string? Surface, int? MinSample, IReadOnlyList<ExperimentVariantRequest>? Variants);

/// <summary>One variant of a new experiment; traffic is given for every variant or for none (an even split).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record ExperimentVariantRequest(string? Name, double? Traffic, StrategyRequest? Strategy);

[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record StrategyRequest(IReadOnlyDictionary<string, double>? Sources, double? Diversity, bool? Personalize, bool? Semantic, string? Blend, string? ModelVersion);

public static class ExperimentsApi
{
    public static IEndpointRouteBuilder MapExperimentsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/experiments").WithTags("Experiments");
        group.MapPost("/", CreateAsync)
            .WithName("CreateExperiment")
            .WithSummary("A draft experiment on one surface (recommendations, similar, search): two or more variants, each a strategy " +
                         "(source weights or blend: learned, model_version, diversity, personalize, semantic) with a traffic share; the first is the control. Audited.")
            .Accepts<ExperimentRequest>("application/json")
            .RequireScope(PersonaScopes.Admin);
        group.MapGet("/", List).WithName("ListExperiments").WithSummary("Every experiment with its per-variant figures and tests against the control.")
            .RequireScope(PersonaScopes.Read);
        group.MapGet("/{id}", Get).WithName("GetExperiment").WithSummary("One experiment with its per-variant figures and tests against the control.")
            .RequireScope(PersonaScopes.Read);
        group.MapPost("/{id}/start", StartAsync).WithName("StartExperiment")
            .WithSummary("Start assigning shoppers (by a hash of experiment and shopper; stable across restarts and nodes). One running experiment per surface. Audited.")
            .RequireScope(PersonaScopes.Admin);
        group.MapPost("/{id}/stop", StopAsync).WithName("StopExperiment").WithSummary("Stop assigning; the figures stay. Audited with the final figures.")
            .RequireScope(PersonaScopes.Admin);
        return app;
    }

    public static async Task<Results<Created<ExperimentReport>, ValidationProblem, ProblemHttpResult>> CreateAsync(
        HttpContext context, ExperimentService experiments, OnlineLoop online, CancellationToken cancellationToken)
    {
        var (document, problem) = await ApiResults.ReadJsonAsync(context.Request, cancellationToken);
        if (problem is not null) return problem;
        using (document)
        {
            ExperimentRequest? body;
            try
            {
                body = document!.RootElement.Deserialize<ExperimentRequest>(PersonaJson.Options);
            }
            catch (JsonException ex)
            {
                var field = string.IsNullOrEmpty(ex.Path) || ex.Path == "$" ? "body" : ex.Path.TrimStart('$', '.');
                return ApiResults.Problem([new FieldError(null, field, "Not the expected shape: " + (ex.Message.Split(" Path:", 2)[0]))]);
            }
            if (body is null) return ApiResults.Problem([new FieldError(null, "body", "Send a JSON object.")]);
            var (draft, errors) = ToExperiment(body, online.Options.MinSample);
            if (draft is null) return ApiResults.Problem(errors);
            var change = await experiments.CreateAsync(draft, context.Actor(), cancellationToken);
            if (change.Experiment is null)
                return change.Conflict
                    ? TypedResults.Problem(title: "The experiment exists.", detail: change.Errors[0].Message, statusCode: StatusCodes.Status409Conflict)
                    : ApiResults.Problem(change.Errors);
            return TypedResults.Created($"/v1/experiments/{change.Experiment.Id}", experiments.Report(change.Experiment));
        }
    }

    public static Ok<IReadOnlyList<ExperimentReport>> List(ExperimentService experiments) =>
        TypedResults.Ok<IReadOnlyList<ExperimentReport>>([.. experiments.List().Select(experiments.Report)]);

    public static Results<Ok<ExperimentReport>, ProblemHttpResult> Get(string id, ExperimentService experiments) =>
        experiments.Get(id) is { } experiment ? TypedResults.Ok(experiments.Report(experiment)) : NotFound(id);

    public static Task<Results<Ok<ExperimentReport>, ProblemHttpResult>> StartAsync(string id, HttpContext context, ExperimentService experiments, CancellationToken cancellationToken) =>
        ChangeAsync(id, experiments, experiments.StartAsync(id, context.Actor(), cancellationToken));

    public static Task<Results<Ok<ExperimentReport>, ProblemHttpResult>> StopAsync(string id, HttpContext context, ExperimentService experiments, CancellationToken cancellationToken) =>
        ChangeAsync(id, experiments, experiments.StopAsync(id, context.Actor(), cancellationToken));

    private static async Task<Results<Ok<ExperimentReport>, ProblemHttpResult>> ChangeAsync(string id, ExperimentService experiments, Task<ExperimentChange> changing)
    {
        var change = await changing;
        if (change.NotFound) return NotFound(id);
        if (change.Errors.Count > 0)
            return TypedResults.Problem(title: "The experiment cannot make that change now.", detail: change.Errors[0].Message, statusCode: StatusCodes.Status409Conflict);
        return TypedResults.Ok(experiments.Report(change.Experiment!));
    }

    private static ProblemHttpResult NotFound(string id) =>
        ApiResults.NotFound("Experiment not found.", $"No experiment has the id '{EventBatchReader.Truncate(id)}'.");

    /// <summary>The draft a request describes, or the fields that are wrong (each named); the experiment's own checks follow.</summary>
    public static (Experiment? Draft, IReadOnlyList<FieldError> Errors) ToExperiment(ExperimentRequest body, int defaultMinSample)
    {
        ArgumentNullException.ThrowIfNull(body);
        var errors = new List<FieldError>();
        if (body.Id is null) errors.Add(new FieldError(null, "id", "An id is required."));
        if (!OnlineSurfaces.TryParse(body.Surface, out var surface))
            errors.Add(new FieldError(null, "surface", $"Must be one of {string.Join(", ", OnlineSurfaces.All)}."));
        var variants = body.Variants ?? [];
        var withTraffic = variants.Count(v => v.Traffic is not null);
        if (withTraffic != 0 && withTraffic != variants.Count)
            errors.Add(new FieldError(null, "variants", "Give traffic for every variant, or for none (an even split)."));
        for (var i = 0; i < variants.Count; i++)
            if (variants[i] is null) errors.Add(new FieldError(null, $"variants[{i}]", "A variant object is required."));
        if (errors.Count > 0) return (null, errors);
        var draft = new Experiment
        {
            Id = body.Id!,
            Name = body.Name ?? body.Id!,
            Surface = surface,
            MinSample = body.MinSample ?? defaultMinSample,
            Variants = [.. variants.Select(v => new ExperimentVariant(v.Name ?? "", v.Traffic ?? 1.0 / variants.Count, new Strategy
            {
                Sources = v.Strategy?.Sources,
                Diversity = v.Strategy?.Diversity,
                Personalize = v.Strategy?.Personalize ?? true,
                Semantic = v.Strategy?.Semantic ?? true,
                Blend = v.Strategy?.Blend,
                ModelVersion = v.Strategy?.ModelVersion,
            }))],
        };
        var problems = draft.Validate();
        return problems.Count > 0 ? (null, problems) : (draft, []);
    }
}
