using Microsoft.Extensions.Logging;
using Orleans.Runtime;
using Persona.Abstractions;
using Persona.Hosting;
using Persona.Hosting.Cluster;

namespace Persona.Cluster;

/// <summary>The engine's view of the other nodes, through Orleans: shopper grains for appends, node grains for news.</summary>
internal sealed partial class OrleansClusterPeers(
    IGrainFactory grains, IClusterMembershipService membership, ILocalSiloDetails self, ILogger<OrleansClusterPeers> logger) : IClusterPeers
{
    public async Task<IngestOutcome> AppendOnOwnersAsync(IReadOnlyList<StoredEvent> events, CancellationToken cancellationToken)
    {
        var byShopper = new Dictionary<string, List<StoredEvent>>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (!byShopper.TryGetValue(e.UserId, out var list)) byShopper[e.UserId] = list = [];
            list.Add(e);
        }
        var outcomes = await Task.WhenAll(byShopper.Select(pair => GrainCalls.WithFailoverAsync(
            () => grains.GetGrain<IShopperGrain>(pair.Key).AppendAsync(new([.. pair.Value])), cancellationToken)));
        return new IngestOutcome
        {
            Stored = outcomes.Sum(o => o.Stored),
            Duplicates = outcomes.Sum(o => o.Duplicates),
            Excluded = outcomes.Sum(o => o.Excluded),
        };
    }

    public Task ItemsUpsertedAsync(IReadOnlyList<Item> items, CancellationToken cancellationToken) =>
        TellOthersAsync(node => node.ItemsUpsertedAsync([.. items]), "items");

    public Task UsersUpsertedAsync(IReadOnlyList<User> users, CancellationToken cancellationToken) =>
        TellOthersAsync(node => node.UsersUpsertedAsync([.. users]), "user records");

    public Task UserErasedAsync(string userId, CancellationToken cancellationToken) =>
        TellOthersAsync(node => node.UserErasedAsync(userId), "an erasure");

    /// <summary>
    /// Tells every other active node. A node that cannot be told is failing: it is declared dead and, restarted,
    /// reads the store afresh, so the change is not lost to it.
    /// </summary>
    private async Task TellOthersAsync(Func<INodeGrain, Task> tell, string what)
    {
        var others = membership.CurrentSnapshot.Members.Values
            .Where(m => m.Status == SiloStatus.Active && !m.SiloAddress.Equals(self.SiloAddress))
            .Select(m => m.SiloAddress)
            .ToList();
        await Task.WhenAll(others.Select(async silo =>
        {
            try
            {
                await tell(grains.GetGrain<INodeGrain>(silo.ToParsableString())).WaitAsync(GrainCalls.Patience);
            }
            catch (Exception ex)
            {
                LogTellFailed(logger, what, silo.ToString(), ex);
            }
        }));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not tell node {Node} of {What}; it rereads the store when it restarts")]
    private static partial void LogTellFailed(ILogger logger, string what, string node, Exception ex);
}

/// <summary>A shopper's reads and erasure, on the node holding the shopper's grain.</summary>
internal sealed class ClusterShopperCalls(IGrainFactory grains) : IShopperCalls
{
    public async Task<ProfileRead> GetProfileAsync(string userId, CancellationToken cancellationToken) =>
        (await GrainCalls.WithFailoverAsync(() => grains.GetGrain<IShopperGrain>(userId).GetProfileAsync(), cancellationToken)).Value;

    public async Task<Hosting.Recommendations.RecommendationList> RecommendAsync(string userId, Core.Ranking.RecommendationQuery query, CancellationToken cancellationToken) =>
        (await GrainCalls.WithFailoverAsync(() => grains.GetGrain<IShopperGrain>(userId).RecommendAsync(new(query)), cancellationToken)).Value;

    public async Task<Core.Search.SearchResult> SearchAsync(string userId, Core.Search.SearchRequest request, CancellationToken cancellationToken) =>
        (await GrainCalls.WithFailoverAsync(() => grains.GetGrain<IShopperGrain>(userId).SearchAsync(new(request)), cancellationToken)).Value;

    public Task<ErasureReceipt?> EraseAsync(string userId, string actor, CancellationToken cancellationToken) =>
        GrainCalls.WithFailoverAsync(() => grains.GetGrain<IShopperGrain>(userId).EraseAsync(actor), cancellationToken);
}
