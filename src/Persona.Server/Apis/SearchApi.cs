using System.Diagnostics;
using Microsoft.AspNetCore.Http.HttpResults;
using Persona.Core.Ingestion;
using Persona.Core.Online;
using Persona.Core.Search;
using Persona.Hosting;
using Persona.Hosting.Cluster;
using Persona.Hosting.Online;
using Persona.Server.Security;

namespace Persona.Server.Apis;

/// <summary>
/// One result: the item's display fields (with the Chinese title and category path when the catalog has them), its score
/// and how the score was made, and why it is there.
/// </summary>
public sealed record SearchItem(
    string ItemId, string Title, string? Brand, IReadOnlyList<string> CategoryPath, double? Price, string Currency,
    double Score, ScoreBreakdown Breakdown, SearchReason Reason)
{
    public string? TitleZh { get; init; }
    public string? CategoryPathZh { get; init; }
}

public sealed record SearchResponse(
    ParsedQuery Query, string? User, bool Personalized, int Candidates, double TookMs, IReadOnlyList<SearchItem> Items)
{
    /// <summary>The text encoder that served (kind and version); null when the search was lexical only.</summary>
    public SearchEncoder? Encoder { get; init; }
    /// <summary>This answer's id: impressions, clicks, carts and purchases may carry it with the result's position.</summary>
    public string? RequestId { get; init; }
    /// <summary>The experiment variant that answered (<c>experiment/variant</c>); null outside experiments.</summary>
    public string? Variant { get; init; }
    /// <summary>
    /// Whether a model rewrote the query (<c>source: model</c>) or the parser answered after a rewrite was tried
    /// (<c>source: parser</c>, with the reason); absent when no rewrite was tried (no endpoint, rewriting off, a short query).
    /// </summary>
    public QueryRewrite? Rewrite { get; init; }
}

public static class SearchApi
{
    public const int MaxResults = 100;

    public static IEndpointRouteBuilder MapSearchApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/v1/search").WithTags("Search").RequireScope(PersonaScopes.Read);
        group.MapGet("/", Search)
            .WithName("Search")
            .WithSummary("Product search in Chinese and English, personalised with the user's profile; each result has a score breakdown and a reason.");
        group.MapGet("/status", Status).WithName("SearchStatus").WithSummary("Index size, encoder and re-ranker weights of the search service.");
        return app;
    }

    /// <param name="search">The search service.</param>
    /// <param name="q">The query text (Chinese, English or both); price phrases such as "under 50" or "100元以下" become filters.</param>
    /// <param name="user">Personalise for this user (omit for the non-personal order).</param>
    /// <param name="n">Results wanted, 1..100 (default 20).</param>
    /// <param name="category">Only items in this category: a key such as "Makeup &gt; Nails" or a category name.</param>
    /// <param name="priceMax">Only items priced at most this.</param>
    /// <param name="priceMin">Only items priced at least this.</param>
    /// <param name="personalize">False gives the non-personal order even with a user.</param>
    /// <param name="semantic">False leaves the text encoder out: lexical candidates only (the playground's encoder switch).</param>
    /// <param name="engine">Maps the user id to the stored one.</param>
    /// <param name="shoppers">Runs a personalised search where the user's state lives.</param>
    /// <param name="experiments">The running search experiment, if any, picks the user's variant.</param>
    /// <param name="online">Gives an anonymous search its request id (a personalised one gets it where it runs).</param>
    /// <param name="rewriter">Rewrites a long query with the configured model, within its budget (docs/generative.md).</param>
    /// <param name="cancellationToken">The request's.</param>
    public static async Task<Results<Ok<SearchResponse>, ValidationProblem>> Search(
        SearchService search, PersonaEngine engine, IShopperCalls shoppers, OnlineLoop online, ExperimentService experiments, QueryRewriter rewriter, string? q, string? user, int? n, string? category, double? priceMax, double? priceMin, bool? personalize,
        bool? semantic, CancellationToken cancellationToken)
    {
        var errors = new List<FieldError>();
        if (string.IsNullOrWhiteSpace(q)) errors.Add(new FieldError(null, "q", "A query is required."));
        else if (q.Length > 500) errors.Add(new FieldError(null, "q", "The query is longer than 500 characters."));
        if (n is < 1 or > MaxResults) errors.Add(new FieldError(null, "n", $"n must be between 1 and {MaxResults}."));
        if (priceMax is { } max && (!double.IsFinite(max) || max < 0)) errors.Add(new FieldError(null, "priceMax", "priceMax must be a number ≥ 0."));
        if (priceMin is { } min && (!double.IsFinite(min) || min < 0)) errors.Add(new FieldError(null, "priceMin", "priceMin must be a number ≥ 0."));
        if (priceMin is { } lo && priceMax is { } hi && lo > hi) errors.Add(new FieldError(null, "priceMin", "priceMin must not exceed priceMax."));
        if (errors.Count > 0) return ApiResults.QueryProblem(errors);

        var started = Stopwatch.GetTimestamp();
        var stored = string.IsNullOrWhiteSpace(user) ? null : engine.UserIds.ToStored(user);
        var variant = experiments.Assign(OnlineSurface.Search, stored);
        var request = new SearchRequest
        {
            Query = q!,
            Limit = n ?? 20,
            Category = category,
            PriceMax = priceMax,
            PriceMin = priceMin,
            Personalize = (personalize ?? true) && (variant?.Strategy.Personalize ?? true),
            Semantic = (semantic ?? true) && (variant?.Strategy.Semantic ?? true),
            Variant = variant?.Label,
        };
        // Before the call goes to where the shopper lives: the rewrite is asked once, here, and never with the user id.
        var (understood, rewrite) = await rewriter.RewriteAsync(search.Index, engine.Catalog, request, cancellationToken);
        request = understood;
        var result = stored is null
            ? online.Served(search.Search(request, null), shopper: null)
            : await shoppers.SearchAsync(stored, request, cancellationToken);
        var items = result.Hits.Select(h => new SearchItem(
            h.Item.Id, h.Item.Title, h.Item.Brand, h.Item.CategoryPath, h.Item.Price, h.Item.Currency, h.Score, h.Breakdown, h.Reason)
        {
            TitleZh = h.Item.Attributes.GetValueOrDefault("title_zh"),
            CategoryPathZh = h.Item.Attributes.GetValueOrDefault("category_path_zh"),
        }).ToList();
        return TypedResults.Ok(new SearchResponse(result.Query, user, result.Personalized, result.Candidates,
            Math.Round(Stopwatch.GetElapsedTime(started).TotalMilliseconds, 3), items) { Encoder = result.Encoder, RequestId = result.RequestId, Variant = result.Variant, Rewrite = rewrite });
    }

    public static Ok<SearchStatus> Status(SearchService search) => TypedResults.Ok(search.Status);
}
