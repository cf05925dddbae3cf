using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Hosting;

namespace Persona.Server.Apis;

public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/health", GetAsync).WithTags("Health").WithName("Health").WithSummary("Liveness and store counts.");
        return app;
    }

    public static async Task<Ok<HealthResponse>> GetAsync(PersonaEngine engine, CancellationToken cancellationToken)
    {
        var stats = await engine.GetStatsAsync(cancellationToken);
        return TypedResults.Ok(new HealthResponse("ok", stats));
    }
}

public sealed record HealthResponse(string Status, PersonaStats Stats);
