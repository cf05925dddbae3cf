using System.Globalization;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Core.Ingestion;
using Persona.Core.Online;
using Persona.Core.Ranking;
using Persona.Hosting;
using Persona.Hosting.Cluster;
using Persona.Hosting.Online;
using Persona.Hosting.Recommendations;
using Persona.Server.Json;
using Persona.Server.Security;

namespace Persona.Server.Apis;

public static class RecommendationsApi
{
    /// <summary>Most ids one request may exclude.</summary>
    public const int MaxExclude = 1000;

    public static IEndpointRouteBuilder MapRecommendationsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/v1/users/{id}/recommendations", Recommend)
            .WithTags("Recommendations")
            .WithName("GetRecommendations")
            .WithSummary("Items for a user, each with a score, its sources and a reason in English and Chinese; includes every acknowledged event. " +
                         "Query: n, category (path key or segment name), exclude (ids, comma-separated or repeated), excludeSeen, diversity (0..1), " +
                         "collapseVariants (one item per product group; default Persona:Recommendations:CollapseVariants).")
            .RequireScope(PersonaScopes.Read);
        app.MapGet("/v1/items/{id}/similar", Similar)
            .WithTags("Recommendations")
            .WithName("GetSimilarItems")
            .WithSummary("Items like this one (model vectors, items often bought after it, items near it by text, popular in its category), with reasons. " +
                         "Query: n, collapseVariants, user (whom the list is shown to: carts and purchases of theirs without a request id are attributed to it).")
            .RequireScope(PersonaScopes.Read);
        return app;
    }

    public static async Task<Results<Ok<RecommendationList>, ValidationProblem>> Recommend(
        string id, HttpRequest request, RecommendationService service, PersonaEngine engine, IShopperCalls shoppers, ExperimentService experiments,
        LearnedBlendService blend, CancellationToken cancellationToken)
    {
        var query = request.Query;
        var errors = new List<FieldError>();
        var n = ReadCount(query, service.Options, errors);
        var excludeSeen = false;
        if (Single(query, "excludeSeen", errors) is { } seenText && !bool.TryParse(seenText, out excludeSeen))
            errors.Add(new FieldError(null, "excludeSeen", $"'{EventBatchReader.Truncate(seenText)}' is not true or false."));
        var diversity = 0.0;
        if (Single(query, "diversity", errors) is { } diversityText
            && (!double.TryParse(diversityText, NumberStyles.Float, CultureInfo.InvariantCulture, out diversity) || diversity is < 0 or > 1 || double.IsNaN(diversity)))
            errors.Add(new FieldError(null, "diversity", $"'{EventBatchReader.Truncate(diversityText)}' is not a number between 0 and 1."));
        var collapseVariants = ReadBool(query, "collapseVariants", errors);
        var category = Single(query, "category", errors);
        if (category is not null && string.IsNullOrWhiteSpace(category)) errors.Add(new FieldError(null, "category", "Must not be empty when given."));
        var exclude = new HashSet<string>(StringComparer.Ordinal);
        foreach (var value in query["exclude"])
            foreach (var part in (value ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                exclude.Add(part);
        if (exclude.Count > MaxExclude) errors.Add(new FieldError(null, "exclude", $"At most {MaxExclude} ids may be excluded."));
        if (errors.Count > 0) return Problem(errors);

        // The service reads state keyed by stored ids; the answer names the user as the caller did.
        var stored = engine.UserIds.ToStored(id);
        var variant = experiments.Assign(OnlineSurface.Recommendations, stored);
        var list = await shoppers.RecommendAsync(stored, new RecommendationQuery
        {
            Count = n,
            Category = category,
            Exclude = exclude,
            ExcludeSeen = excludeSeen,
            Diversity = variant?.Strategy.Diversity ?? diversity,
            CollapseVariants = collapseVariants,
            Weights = blend.WeightsFor(variant?.Strategy),
            Personalize = variant?.Strategy.Personalize ?? true,
            ModelVersion = variant?.Strategy.ModelVersion,
            Variant = variant?.Label,
        }, cancellationToken);
        return TypedResults.Ok(list with { UserId = id });
    }

    public static Results<Ok<SimilarItemsList>, ValidationProblem, ProblemHttpResult> Similar(
        string id, HttpRequest request, RecommendationService service, OnlineLoop online, ExperimentService experiments, PersonaEngine engine)
    {
        var errors = new List<FieldError>();
        var n = ReadCount(request.Query, service.Options, errors);
        var collapseVariants = ReadBool(request.Query, "collapseVariants", errors);
        var user = Single(request.Query, "user", errors);
        if (user is not null && string.IsNullOrWhiteSpace(user)) errors.Add(new FieldError(null, "user", "Must not be empty when given."));
        if (errors.Count > 0) return Problem(errors);
        var shopper = user is null ? null : engine.UserIds.ToStored(user);
        var variant = experiments.Assign(OnlineSurface.Similar, shopper);
        return service.Similar(id, n, collapseVariants, variant?.Strategy.Weights) is { } list
            ? TypedResults.Ok(online.Served(list, shopper, variant?.Label))
            : ApiResults.NotFound("Item not found.", $"No item has the id '{EventBatchReader.Truncate(id)}'.");
    }

    private static int ReadCount(IQueryCollection query, RecommendationOptions options, List<FieldError> errors)
    {
        if (Single(query, "n", errors) is not { } text) return options.DefaultN;
        if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var n) && n >= 1 && n <= options.MaxN) return n;
        errors.Add(new FieldError(null, "n", $"'{EventBatchReader.Truncate(text)}' is not a whole number between 1 and {options.MaxN}."));
        return options.DefaultN;
    }

    private static bool? ReadBool(IQueryCollection query, string name, List<FieldError> errors)
    {
        if (Single(query, name, errors) is not { } text) return null;
        if (bool.TryParse(text, out var value)) return value;
        errors.Add(new FieldError(null, name, $"'{EventBatchReader.Truncate(text)}' is not true or false."));
        return null;
    }

    private static string? Single(IQueryCollection query, string name, List<FieldError> errors)
    {
        var values = query[name];
        if (values.Count == 0) return null;
        if (values.Count > 1) errors.Add(new FieldError(null, name, "Give this parameter once."));
        return values[0];
    }

    private static ValidationProblem Problem(List<FieldError> errors) =>
        TypedResults.ValidationProblem(
            errors.GroupBy(e => e.Field).ToDictionary(g => g.Key, g => g.Select(e => e.Message).ToArray()),
            detail: "The query string was rejected; see the parameters named in errors.",
            title: "One or more query parameters are invalid.");
}
