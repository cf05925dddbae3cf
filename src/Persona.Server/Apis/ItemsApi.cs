using Persona.Core.Ingestion;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Abstractions;
using Persona.Hosting;
using Persona.Server.Json;
using Persona.Server.Security;

namespace Persona.Server.Apis;

public static class ItemsApi
{
    public static IEndpointRouteBuilder MapItemsApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/items").WithTags("Items");
        group.MapPut("/{id}", UpsertAsync)
            .WithName("UpsertItem")
            .WithSummary("Create or replace a catalog item; profiles see it from the next event on.")
            .Accepts<Item>("application/json")
            .RequireScope(PersonaScopes.Ingest);
        group.MapGet("/{id}", GetAsync).WithName("GetItem").WithSummary("Read a catalog item.").RequireScope(PersonaScopes.Read);
        return app;
    }

    public static async Task<Results<Ok<Item>, ValidationProblem>> UpsertAsync(
        string id, HttpRequest request, PersonaEngine engine, CancellationToken cancellationToken)
    {
        var (document, problem) = await ApiResults.ReadJsonAsync(request, cancellationToken);
        if (problem is not null) return problem;
        using (document)
        {
            var (item, readErrors) = CatalogJsonReader.ReadItem(id, document!.RootElement);
            if (item is null) return ApiResults.Problem(readErrors);
            var errors = await engine.UpsertItemsAsync([item], cancellationToken);
            return errors.Count > 0 ? ApiResults.Problem(errors) : TypedResults.Ok(item);
        }
    }

    public static async Task<Results<Ok<Item>, ProblemHttpResult>> GetAsync(string id, PersonaEngine engine, CancellationToken cancellationToken) =>
        await engine.GetItemAsync(id, cancellationToken) is { } item
            ? TypedResults.Ok(item)
            : ApiResults.NotFound("Item not found.", $"No item has the id '{EventBatchReader.Truncate(id)}'.");
}
