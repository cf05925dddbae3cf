using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Abstractions;
using Persona.Core.Ingestion;
using Persona.Hosting;
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
        return app;
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
