using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Core.Ingestion;
using Persona.Core.Models.Sequence;
using Persona.Hosting;
using Persona.Server.Security;

namespace Persona.Server.Apis;

/// <summary>The stored sequence model versions, which one serves and why, and the server's own training.</summary>
/// <param name="Serving">The version the serving pointer names (the newest, in a folder from before the pointer); null when none is trained.</param>
/// <param name="Loaded">The version this server has in memory; it follows <paramref name="Serving"/> within one poll.</param>
/// <param name="RollbackTo">The version <c>POST /v1/admin/models/rollback</c> would serve; null when none is recorded.</param>
/// <param name="Versions">Every stored version, newest first, with its training figures and the gate's verdict.</param>
/// <param name="History">The serving history, newest last: which version served from when, how (first, passed, forced, promoted, adopted) and by whom.</param>
/// <param name="Training">The server's own training: whether it is on, what triggers it, the running one's progress, the last one's outcome.</param>
public sealed record ModelsResponse(
    string? Serving, string? Loaded, string? RollbackTo, IReadOnlyList<SequenceModelVersion> Versions, IReadOnlyList<SequenceServingEntry> History,
    SequenceTrainingStatus Training);

/// <summary>What a promotion or rollback did.</summary>
/// <param name="Serving">The version that serves now.</param>
/// <param name="Before">The version that served before.</param>
/// <param name="History">The serving history after the decision, newest last.</param>
public sealed record ModelDecisionResponse(string Serving, string? Before, IReadOnlyList<SequenceServingEntry> History);

/// <summary>The search text encoder: what is configured, what serves, and the fine-tuned adapter versions.</summary>
/// <param name="Configured">Persona:Text:Encoder (in-domain, minilm, a checkpoint folder or an .onnx file).</param>
/// <param name="ServingKind">The kind of the encoder whose vectors search holds now (minilm+lora when adapters are merged in); null while search is lexical.</param>
/// <param name="ServingVersion">Its version.</param>
/// <param name="AdapterPointer">The adapter version <c>DATA/models/text/serving.json</c> names (served at start when trained on the configured base).</param>
/// <param name="Adapters">Every fine-tuning run, oldest first: base, pairs, steps, loss, the gate's held-out accuracies and verdict.</param>
public sealed record TextModelsResponse(
    string Configured, string? ServingKind, string? ServingVersion, string? AdapterPointer, IReadOnlyList<TextAdapterManifest> Adapters);

public static class ModelsApi
{
    public static IEndpointRouteBuilder MapModelsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/admin/models").WithTags("Admin").RequireScope(PersonaScopes.Admin);
        group.MapGet("/", Get)
            .WithName("GetModels")
            .WithSummary("Sequence model versions (newest first) with validation NDCG@10 and other figures, the gate's verdict on each, which one serves, the serving history, and the server's own training (progress, ETA, last outcome).");
        group.MapPost("/{version}/promote", PromoteAsync)
            .WithName("PromoteModel")
            .WithSummary("Serve a stored version (for instance one the gate rejected), without a restart; audited. 404 when no such version is stored.");
        group.MapGet("/text", GetText)
            .WithName("GetTextModels")
            .WithSummary("The search text encoder: configured (Persona:Text:Encoder), serving (kind and version), and the fine-tuned adapter versions `persona train --task text-encoder` stored, with their gate figures.");
        group.MapPost("/rollback", RollbackAsync)
            .WithName("RollbackModel")
            .WithSummary("Serve the version that served before the current one again, without a restart; audited. 409 when none is recorded.");
        return app;
    }

    public static Ok<ModelsResponse> Get(SequenceModelService models, SequenceTrainingService training)
    {
        var repository = models.Repository;
        var pointer = repository.ReadPointer();
        var versions = repository.Describe().Reverse().ToList();
        return TypedResults.Ok(new ModelsResponse(
            versions.FirstOrDefault(v => v.Serving)?.Version, repository.Current?.Version, pointer?.Previous, versions, pointer?.History ?? [], training.Status));
    }

    public static Ok<TextModelsResponse> GetText(SearchService search, PersonaEngine engine, Microsoft.Extensions.Options.IOptions<PersonaTextOptions> text)
    {
        var repository = TextAdapterRepository.ForDataDirectory(engine.Options.DataDirectory);
        var encoder = search.Index.Encoder;
        return TypedResults.Ok(new TextModelsResponse(text.Value.Encoder, encoder?.Kind, encoder?.Version, repository.ServingVersion(), repository.List()));
    }

    public static async Task<Results<Ok<ModelDecisionResponse>, ProblemHttpResult>> PromoteAsync(
        string version, HttpContext context, SequenceModelService models, CancellationToken cancellationToken)
    {
        try
        {
            var (pointer, before) = await models.PromoteAsync(version, context.Actor(), cancellationToken);
            return TypedResults.Ok(new ModelDecisionResponse(pointer.Version!, before, pointer.History));
        }
        catch (UnknownModelVersionException)
        {
            var known = models.Repository.ListVersions();
            return ApiResults.NotFound("Model version not found.",
                $"No sequence model version '{EventBatchReader.Truncate(version)}' is stored" + (known.Count == 0 ? " (none is)." : $"; stored: {string.Join(", ", known.Reverse())}."));
        }
    }

    public static async Task<Results<Ok<ModelDecisionResponse>, ProblemHttpResult>> RollbackAsync(
        HttpContext context, SequenceModelService models, CancellationToken cancellationToken)
    {
        try
        {
            var (pointer, from) = await models.RollbackAsync(context.Actor(), cancellationToken);
            return TypedResults.Ok(new ModelDecisionResponse(pointer.Version!, from, pointer.History));
        }
        catch (InvalidOperationException ex)
        {
            return TypedResults.Problem(title: "Nothing to roll back to.", detail: ex.Message.Replace(models.Repository.Root, "the model folder", StringComparison.Ordinal),
                statusCode: StatusCodes.Status409Conflict);
        }
        catch (UnknownModelVersionException ex)
        {
            return TypedResults.Problem(title: "The previous version is no longer stored.", detail: $"Version '{ex.Version}' served before, but its files are gone; promote a stored version instead.",
                statusCode: StatusCodes.Status409Conflict);
        }
    }
}
