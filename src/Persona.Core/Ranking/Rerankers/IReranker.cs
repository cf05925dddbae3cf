namespace Persona.Core.Ranking.Rerankers;

/// <summary>One item of a ranked list as re-rankers see it: its catalog entry, its blended score and its place in the blend's order.</summary>
public readonly record struct RankedItem(CatalogEntry Entry, double Score, int BlendIndex);

/// <summary>What a re-ranker may consider besides the list.</summary>
public sealed record RerankRequest
{
    /// <summary>Items the answer shows.</summary>
    public required int Count { get; init; }
    /// <summary>0 = relevance order .. 1 = most diverse.</summary>
    public double Diversity { get; init; }
    /// <summary>One item per product group.</summary>
    public bool CollapseVariants { get; init; }
    /// <summary>With <see cref="CollapseVariants"/>, a product group left out entirely (similar items: the item's own).</summary>
    public ulong? ExceptGroup { get; init; }
    /// <summary>The model whose item vectors measure how alike two items are (null: by category and brand).</summary>
    public ModelView? Model { get; init; }
}

/// <summary>
/// A step after the blend (docs/online-loop.md, section 4): it reorders or thins a ranked list, best first, and returns
/// the positions it keeps, in their new order. Steps run in the order <see cref="Recommender"/> holds them.
/// </summary>
public interface IReranker
{
    string Name { get; }

    IReadOnlyList<int> Rerank(RerankRequest request, IReadOnlyList<RankedItem> ranked);
}

/// <summary>The first (best) item of each product group (<see cref="ProductGroups"/>), so colours and sizes of one product do not crowd a list.</summary>
public sealed class ProductGroupCollapse : IReranker
{
    public string Name => "collapse_variants";

    public IReadOnlyList<int> Rerank(RerankRequest request, IReadOnlyList<RankedItem> ranked)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(ranked);
        if (!request.CollapseVariants) return [.. Enumerable.Range(0, ranked.Count)];
        var groups = new HashSet<ulong>();
        if (request.ExceptGroup is { } except) groups.Add(except);
        var kept = new List<int>(ranked.Count);
        for (var i = 0; i < ranked.Count; i++)
            if (groups.Add(ranked[i].Entry.GroupKey)) kept.Add(i);
        return kept;
    }
}

/// <summary>
/// Maximal marginal relevance over the best <c>Count × MmrPoolFactor</c>: each next item trades its relevance against
/// its likeness to those already chosen (<see cref="Recommender.Similarity"/>); at diversity 0, the first <c>Count</c>.
/// </summary>
public sealed class MmrDiversity(int poolFactor) : IReranker
{
    public string Name => "diversity";

    public IReadOnlyList<int> Rerank(RerankRequest request, IReadOnlyList<RankedItem> ranked)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(ranked);
        var n = request.Count;
        var poolSize = Math.Min(ranked.Count, n * poolFactor);
        if (request.Diversity <= 0 || poolSize <= n) return [.. Enumerable.Range(0, Math.Min(n, ranked.Count))];
        var best = ranked[0].Score > 0 ? ranked[0].Score : 1;
        var relevance = new double[poolSize];
        var vectors = new float[]?[poolSize];
        for (var i = 0; i < poolSize; i++)
        {
            relevance[i] = ranked[i].Score / best;
            vectors[i] = request.Model?.Index.GetVector(ranked[i].Entry.Item.Id);
        }
        return Mmr.Select(relevance, n, request.Diversity, (a, b) => Recommender.Similarity(ranked[a].Entry, vectors[a], ranked[b].Entry, vectors[b]));
    }
}
