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
            .WithSummary("Admin actions (erasures, exports, model refreshes): who, what, when; newest first.");
        return app;
    }

    public static async Task<Results<Ok<IReadOnlyList<AuditEntry>>, ValidationProblem>> GetAuditAsync(
        int? limit, PersonaEngine engine, CancellationToken cancellationToken)
    {
        var n = limit ?? 100;
        if (n is < 1 or > MaxAuditEntries)
            return ApiResults.QueryProblem([new FieldError(null, "limit", $"Must be between 1 and {MaxAuditEntries}.")]);
        return TypedResults.Ok(await engine.Store.ReadAuditAsync(n, cancellationToken));
    }
}
