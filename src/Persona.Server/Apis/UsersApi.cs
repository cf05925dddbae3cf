using Persona.Core.Ingestion;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Abstractions;
using Persona.Hosting;
using Persona.Hosting.Cluster;
using Persona.Hosting.Generative;
using Persona.Server.Json;
using Persona.Server.Security;

namespace Persona.Server.Apis;

public static class UsersApi
{
    public static IEndpointRouteBuilder MapUsersApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/users").WithTags("Users");
        group.MapPut("/{id}", UpsertAsync)
            .WithName("UpsertUser")
            .WithSummary("Create or replace a user's attributes and consent flags.")
            .Accepts<User>("application/json")
            .RequireScope(PersonaScopes.Ingest);
        group.MapGet("/{id}", GetAsync).WithName("GetUser").WithSummary("Read a user's attributes and consent flags.").RequireScope(PersonaScopes.Read);
        group.MapGet("/{id}/profile", GetProfile)
            .WithName("GetProfile")
            .WithSummary("The user's live profile: traits, affinities and tags with evidence; includes every acknowledged event.")
            .RequireScope(PersonaScopes.Read);
        group.MapPost("/{id}/summary", SummarizeAsync)
            .WithName("SummarizeProfile")
            .WithSummary("Ask the chat endpoint for the user's profile summary now (when the tags changed since the stored one); answers the summary the profile now shows.")
            .RequireScope(PersonaScopes.Admin);
        group.MapDelete("/{id}", EraseAsync)
            .WithName("EraseUser")
            .WithSummary("Forget a user: erase their events, profile, predictions, segment membership, audience memberships and index entries; returns a receipt.")
            .RequireScope(PersonaScopes.Admin);
        return app;
    }

    public static async Task<Results<Ok<User>, ValidationProblem>> UpsertAsync(
        string id, HttpRequest request, PersonaEngine engine, CancellationToken cancellationToken)
    {
        var (document, problem) = await ApiResults.ReadJsonAsync(request, cancellationToken);
        if (problem is not null) return problem;
        using (document)
        {
            var (user, readErrors) = CatalogJsonReader.ReadUser(id, document!.RootElement);
            if (user is null) return ApiResults.Problem(readErrors);
            var errors = await engine.UpsertUsersAsync([user], cancellationToken);
            return errors.Count > 0 ? ApiResults.Problem(errors) : TypedResults.Ok(user);
        }
    }

    // Routes take the caller's id (raw, or a pseudonym listed by the API) and answer with it; the store is read by
    // the stored id (identical unless ids are pseudonymised).

    public static async Task<Results<Ok<User>, ProblemHttpResult>> GetAsync(string id, PersonaEngine engine, CancellationToken cancellationToken) =>
        await engine.GetUserAsync(engine.UserIds.ToStored(id), cancellationToken) is { } user
            ? TypedResults.Ok(user with { Id = id })
            : ApiResults.NotFound("User not found.", $"No user has the id '{EventBatchReader.Truncate(id)}'.");

    public static async Task<Results<Ok<Profile>, ProblemHttpResult>> GetProfile(
        string id, PersonaEngine engine, IShopperCalls shoppers, ProfileSummaries summaries, CancellationToken cancellationToken)
    {
        var stored = engine.UserIds.ToStored(id);
        var read = await shoppers.GetProfileAsync(stored, cancellationToken);
        return read.Status switch
        {
            ProfileStatus.Found => TypedResults.Ok(read.Profile! with { UserId = id, Summary = await summaries.DescribeAsync(stored, read.Profile, cancellationToken) }),
            ProfileStatus.ConsentWithdrawn => ApiResults.NotFound("No profile.", "The user has withdrawn consent to personalisation, so no profile is built."),
            _ => ApiResults.NotFound("User not found.", $"No events or attributes are known for the user '{EventBatchReader.Truncate(id)}'."),
        };
    }

    public static async Task<Results<Ok<ProfileSummary>, ProblemHttpResult>> SummarizeAsync(
        string id, PersonaEngine engine, ProfileSummaries summaries, CancellationToken cancellationToken)
    {
        if (!summaries.ModelEnabled)
            return ApiResults.Conflict("No chat model.", "Profile summaries come from the template: set Persona:Generative:BaseUrl and Model (and keep Summaries on) to ask a model.");
        var stored = engine.UserIds.ToStored(id);
        await summaries.RefreshAsync(stored, cancellationToken);
        var read = engine.GetProfile(stored, enrich: false);
        return read.Status switch
        {
            ProfileStatus.Found => TypedResults.Ok(await summaries.DescribeAsync(stored, read.Profile!, cancellationToken) with { Pending = false }),
            ProfileStatus.ConsentWithdrawn => ApiResults.NotFound("No profile.", "The user has withdrawn consent to personalisation, so no profile is built or summarised."),
            _ => ApiResults.NotFound("User not found.", $"No events or attributes are known for the user '{EventBatchReader.Truncate(id)}'."),
        };
    }

    public static async Task<Results<Ok<ErasureReceipt>, ProblemHttpResult>> EraseAsync(
        string id, HttpContext context, PersonaEngine engine, IShopperCalls shoppers, CancellationToken cancellationToken) =>
        await shoppers.EraseAsync(engine.UserIds.ToStored(id), context.Actor(), cancellationToken) is { } receipt
            ? TypedResults.Ok(receipt with { UserId = id })
            : ApiResults.NotFound("User not found.", $"Nothing is stored about '{EventBatchReader.Truncate(id)}'.");
}
