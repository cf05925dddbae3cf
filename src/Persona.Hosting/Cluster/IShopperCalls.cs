using Persona.Core.Ranking;
using Persona.Core.Search;
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

/// <summary>One node: every shopper is here.</summary>
public sealed class LocalShopperCalls(PersonaEngine engine, RecommendationService recommendations, SearchService search) : IShopperCalls
{
    public Task<ProfileRead> GetProfileAsync(string userId, CancellationToken cancellationToken) => Task.FromResult(engine.GetProfile(userId));

    public Task<RecommendationList> RecommendAsync(string userId, RecommendationQuery query, CancellationToken cancellationToken) =>
        Task.FromResult(recommendations.Recommend(userId, query));

    public Task<SearchResult> SearchAsync(string userId, SearchRequest request, CancellationToken cancellationToken) =>
        Task.FromResult(search.Search(request, userId));

    public Task<ErasureReceipt?> EraseAsync(string userId, string actor, CancellationToken cancellationToken) =>
        engine.EraseUserAsync(userId, actor, cancellationToken);
}
