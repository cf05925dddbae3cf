using Persona.Core.Ranking;
using Persona.Core.Search;
using Persona.Hosting.Online;
using Persona.Hosting.Recommendations;

namespace Persona.Hosting.Cluster;

/// <summary>
/// The reads and the erasure of one shopper, run where the shopper's state lives: in this process on a single node
/// (<see cref="LocalShopperCalls"/>), on the node holding the shopper's grain in a cluster. User ids are stored ids.
/// </summary>
public interface IShopperCalls
{
    Task<ProfileRead> GetProfileAsync(string userId, CancellationToken cancellationToken);

    Task<RecommendationList> RecommendAsync(string userId, RecommendationQuery query, CancellationToken cancellationToken);

    /// <summary>A search personalised for the shopper.</summary>
    Task<SearchResult> SearchAsync(string userId, SearchRequest request, CancellationToken cancellationToken);

    Task<ErasureReceipt?> EraseAsync(string userId, string actor, CancellationToken cancellationToken);
}

/// <summary>One node: every shopper is here. Answers are recorded as served here, where the shopper's events arrive.</summary>
public sealed class LocalShopperCalls(PersonaEngine engine, RecommendationService recommendations, SearchService search, OnlineLoop online) : IShopperCalls
{
    public Task<ProfileRead> GetProfileAsync(string userId, CancellationToken cancellationToken) => Task.FromResult(engine.GetProfile(userId));

    public Task<RecommendationList> RecommendAsync(string userId, RecommendationQuery query, CancellationToken cancellationToken) =>
        Task.FromResult(online.Served(recommendations.Recommend(userId, query), userId, query.Variant));

    public Task<SearchResult> SearchAsync(string userId, SearchRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(online.Served(search.Search(request, userId), userId, request.Variant));

    public Task<ErasureReceipt?> EraseAsync(string userId, string actor, CancellationToken cancellationToken) =>
        engine.EraseUserAsync(userId, actor, cancellationToken);
}
