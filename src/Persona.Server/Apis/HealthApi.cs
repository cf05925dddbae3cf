using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Persona.Cluster;
using Persona.Hosting;
using Persona.Messaging.RabbitMq;
using Persona.Server.Security;

namespace Persona.Server.Apis;

public static class HealthApi
{
    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        // Public on purpose: load balancers probe it without a key. It reveals counts only, and whether the server runs open.
        app.MapGet("/health", GetAsync).WithTags("Health").WithName("Health").WithSummary("Liveness, store counts, the security mode and the background work still running (public).").AllowAnonymous();
        return app;
    }

    public static async Task<Ok<HealthResponse>> GetAsync(
        PersonaEngine engine, IOptions<PersonaSecurityOptions> security, IServiceProvider services, CancellationToken cancellationToken)
    {
        var stats = await engine.GetStatsAsync(cancellationToken);
        return TypedResults.Ok(new HealthResponse("ok", stats, security.Value.Open ? "open" : "api_keys", engine.Background.Running,
            services.GetService<RabbitMqIngestStatus>()?.Snapshot(), services.GetService<ClusterStatus>()?.Snapshot()));
    }
}

/// <summary>
/// Liveness, counts, the security mode (<c>api_keys</c>, or <c>open</c> in development mode), the long jobs running
/// beside requests (training, warming caches): empty once the server has settled; and, when the node consumes a
/// RabbitMQ queue, what it has consumed; on a cluster node, the node and the active ones (each absent otherwise).
/// </summary>
public sealed record HealthResponse(
    string Status, PersonaStats Stats, string Security, IReadOnlyList<string> Background, RabbitMqIngestSnapshot? Queue = null, ClusterSnapshot? Cluster = null);
