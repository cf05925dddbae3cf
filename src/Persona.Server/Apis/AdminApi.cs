using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Abstractions;
using Persona.Core.Ingestion;
using Persona.Hosting;
using Persona.Hosting.Generative;
using Persona.Server.Security;

namespace Persona.Server.Apis;

public static class AdminApi
{
    public const int MaxAuditEntries = 1_000;

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/admin").WithTags("Admin").RequireScope(PersonaScopes.Admin);
        group.MapGet("/audit", GetAuditAsync)
            .WithName("GetAuditLog")
            .WithSummary("Admin actions (erasures, exports, model refreshes, which sequence model serves and why): who, what, when; newest first.");
        group.MapGet("/state", GetState)
            .WithName("GetStateStatus")
            .WithSummary("Derived state: what the last start restored (shopper records, state parts, events replayed) and the shopper states in memory against their budget.");
        group.MapGet("/generative", GetGenerative)
            .WithName("GetGenerativeStatus")
            .WithSummary("The chat endpoint Persona may use (address and model, never the key), which uses are on, and what the profile summaries have done since start.");
        return app;
    }

    public static Ok<GenerativeStatusResponse> GetGenerative(GenerativeEndpoint endpoint, ProfileSummaries summaries)
    {
        var o = endpoint.Options;
        return TypedResults.Ok(new GenerativeStatusResponse(
            endpoint.Client is not null, o.BaseUrl, o.Enabled ? o.Model : null, o.Summaries, o.QueryRewriting, o.Briefs, o.RewriteBudgetMilliseconds,
            endpoint.Client?.CallsToday ?? 0, o.MaxCallsPerDay, summaries.Figures));
    }

    public static Ok<StateStatusResponse> GetState(PersonaEngine engine) =>
        TypedResults.Ok(new StateStatusResponse(engine.LastRestore, engine.LastPartRestores, engine.StateMemory));

    public static async Task<Results<Ok<IReadOnlyList<AuditEntry>>, ValidationProblem>> GetAuditAsync(
        int? limit, PersonaEngine engine, CancellationToken cancellationToken)
    {
        var n = limit ?? 100;
        if (n is < 1 or > MaxAuditEntries)
            return ApiResults.QueryProblem([new FieldError(null, "limit", $"Must be between 1 and {MaxAuditEntries}.")]);
        return TypedResults.Ok(await engine.Store.ReadAuditAsync(n, cancellationToken));
    }
}

/// <summary>What the last start restored and the shopper states held in memory (docs/state.md).</summary>
/// <param name="Restore">Shopper records read, rebuilt and events replayed at the last start.</param>
/// <param name="Parts">Per state part, the log sequence its stored copy covered (0: rebuilt from the log).</param>
/// <param name="Memory">Shopper states in memory against their budget, and cold loads and evictions since start.</param>
public sealed record StateStatusResponse(StateRestore? Restore, IReadOnlyDictionary<string, long> Parts, ShopperStateMemory Memory);

/// <summary>The chat endpoint's configuration as far as it may be shown (no key) and the summaries' figures (docs/generative.md).</summary>
public sealed record GenerativeStatusResponse(
    bool Enabled, string? BaseUrl, string? Model, bool Summaries, bool QueryRewriting, bool Briefs, int RewriteBudgetMilliseconds,
    int CallsToday, int MaxCallsPerDay, SummaryFigures SummaryFigures);
