using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Core.Ingestion;
using Persona.Hosting;
using Persona.Server.Json;
using Persona.Server.Security;

namespace Persona.Server.Apis;

public static class EventsApi
{
    public static IEndpointRouteBuilder MapEventsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/events").WithTags("Events");
        group.MapPost("/", IngestAsync)
            .WithName("IngestEvents")
            .WithSummary("Append a batch of up to 1,000 events, all or nothing; retries with the same ids store nothing twice.")
            .Accepts<EventBatchRequest>("application/json")
            .RequireScope(PersonaScopes.Ingest);
        return app;
    }

    public static async Task<Results<Ok<IngestResponse>, ValidationProblem>> IngestAsync(
        HttpRequest request, PersonaEngine engine, CancellationToken cancellationToken)
    {
        var (document, problem) = await ApiResults.ReadJsonAsync(request, cancellationToken);
        if (problem is not null) return problem;
        using (document)
        {
            var (received, outcome) = await EventBatchIngestion.IngestAsync(engine, document!.RootElement, cancellationToken);
            if (!outcome.IsValid) return ApiResults.Problem(outcome.Errors, "events");
            return TypedResults.Ok(new IngestResponse(received, outcome.Stored, outcome.Duplicates, outcome.Excluded, outcome.EventIds, outcome.Conflicts));
        }
    }
}

/// <summary>The documented request shape (a bare array of events is accepted too).</summary>
public sealed record EventBatchRequest(IReadOnlyList<Persona.Abstractions.Event> Events);

/// <param name="Received">Events in the request.</param>
/// <param name="Stored">Events newly stored.</param>
/// <param name="Duplicates">Events already stored under the same id (a retry, or a conflict), skipped.</param>
/// <param name="Excluded">Stored events left out of profiles as bot-like bursts.</param>
/// <param name="EventIds">The id of each event, in request order (derived from content when none was sent).</param>
/// <param name="Conflicts">
/// Duplicates whose id is stored with other content, with the fields that differ: the stored event is kept and the
/// sent one is not stored (send a new id for a new event). Empty when every duplicate was an exact retry.
/// </param>
public sealed record IngestResponse(int Received, int Stored, int Duplicates, int Excluded, IReadOnlyList<string> EventIds, IReadOnlyList<EventConflict> Conflicts);
