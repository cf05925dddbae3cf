using Microsoft.Extensions.Logging;
using Orleans.Concurrency;
using Persona.Abstractions;
using Persona.Core.Ranking;
using Persona.Core.Search;
using Persona.Hosting;
using Persona.Hosting.Online;
using Persona.Hosting.Recommendations;

namespace Persona.Cluster;

/// <summary>
/// One shopper, keyed by the stored user id: active on exactly one node, which is then the only writer of the shopper's
/// state. Item-side state is on every node, so the grain's calls run the node's own engine and services. Arguments and
/// answers are <see cref="Immutable{T}"/>: never changed once made, so a call within one node passes them uncopied.
/// </summary>
[Alias("persona.shopper")]
public interface IShopperGrain : IGrainWithStringKey
{
    /// <summary>Appends the shopper's events (validated, normalised) and applies them; durable when it returns.</summary>
    [Alias("append")]
    Task<IngestOutcome> AppendAsync(Immutable<StoredEvent[]> events);

    [Alias("profile")]
    Task<Immutable<ProfileRead>> GetProfileAsync();

    [Alias("recommend")]
    Task<Immutable<RecommendationList>> RecommendAsync(Immutable<RecommendationQuery> query);

    [Alias("search")]
    Task<Immutable<SearchResult>> SearchAsync(Immutable<SearchRequest> request);

    [Alias("erase")]
    Task<ErasureReceipt?> EraseAsync(string actor);
}

internal sealed partial class ShopperGrain(PersonaEngine engine, RecommendationService recommendations, SearchService search, OnlineLoop online, ILogger<ShopperGrain> logger)
    : Grain, IShopperGrain
{
    private string UserId => this.GetPrimaryKeyString();

    public override Task OnActivateAsync(CancellationToken cancellationToken) => engine.AdoptShopperAsync(UserId, cancellationToken);

    public override async Task OnDeactivateAsync(DeactivationReason reason, CancellationToken cancellationToken)
    {
        try
        {
            await engine.ReleaseShopperAsync(UserId, cancellationToken);
        }
        catch (Exception ex)
        {
            // The next owner reads the shopper's events after the last record written, so nothing is lost.
            LogReleaseFailed(logger, ex);
        }
    }

    public Task<IngestOutcome> AppendAsync(Immutable<StoredEvent[]> events) => engine.AppendOwnedAsync(events.Value, CancellationToken.None);

    // Each read first catches the shopper up from the store (one indexed read): it then sees every acknowledged event,
    // even those another node appended while the membership briefly let two nodes hold this grain.

    public async Task<Immutable<ProfileRead>> GetProfileAsync()
    {
        await engine.CatchUpShopperAsync(UserId, CancellationToken.None);
        return new(engine.GetProfile(UserId));
    }

    public async Task<Immutable<RecommendationList>> RecommendAsync(Immutable<RecommendationQuery> query)
    {
        await engine.CatchUpShopperAsync(UserId, CancellationToken.None);
        return new(online.Served(recommendations.Recommend(UserId, query.Value), UserId, query.Value.Variant));
    }

    public async Task<Immutable<SearchResult>> SearchAsync(Immutable<SearchRequest> request)
    {
        await engine.CatchUpShopperAsync(UserId, CancellationToken.None);
        return new(online.Served(search.Search(request.Value, UserId), UserId, request.Value.Variant));
    }

    public async Task<ErasureReceipt?> EraseAsync(string actor)
    {
        var receipt = await engine.EraseUserAsync(UserId, actor, CancellationToken.None);
        // Nothing of the shopper is left to hold.
        DeactivateOnIdle();
        return receipt;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing a shopper's state as its grain left this node failed")]
    private static partial void LogReleaseFailed(ILogger logger, Exception ex);
}
