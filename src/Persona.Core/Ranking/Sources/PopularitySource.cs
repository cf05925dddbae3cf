namespace Persona.Core.Ranking.Sources;

/// <summary>
/// Popularity, overall and within the user's strongest categories: √(score ÷ best score). It always gathers, even at
/// weight 0, as the cold-start path when nothing else fires.
/// </summary>
public sealed class PopularitySource : ICandidateSource
{
    public string Name => RecommendationSources.Popularity;

    public bool AlwaysGathers => true;

    public void Gather(CandidateRequest request, CandidatePool pool, int slot)
    {
        foreach (var hit in request.Popularity.Top(null, request.PerSource, request.Accept)) pool.Get(hit.Id);
        if (request.Affinity is not { } affinity) return;
        foreach (var key in affinity.TopCategoryKeys(3))
            foreach (var hit in request.Popularity.Top(key, request.PerSource / 2, request.Accept)) pool.Get(hit.Id);
    }

    public void Score(CandidateRequest request, CandidatePool pool, int slot)
    {
        var scores = request.Popularity.Overall();
        var best = scores.Best;
        if (best <= 0) return;
        foreach (var c in pool.All)
            if (request.Catalog.TryGet(c.ItemId, out var entry)) c.Scores[slot] = Math.Sqrt(Math.Clamp(scores.Of(c.ItemId, entry.Number) / best, 0, 1));
    }

    public Reason? Explain(CandidateRequest request, Candidate candidate, CatalogEntry entry, int slot, bool onlySource) =>
        PopularReason(entry, request.Query.Category is { } category && !string.IsNullOrWhiteSpace(category) ? category.Trim() : null);

    /// <summary>"Popular in" the category the request asked for (at the level asked), else the item's leaf.</summary>
    public static Reason PopularReason(CatalogEntry entry, string? category)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (category is not null)
        {
            var path = entry.Item.CategoryPath;
            for (var d = 0; d < path.Count; d++)
            {
                if (!string.Equals(entry.CategoryKeys[d], category, StringComparison.OrdinalIgnoreCase)
                    && !string.Equals(path[d].Trim(), category, StringComparison.OrdinalIgnoreCase)) continue;
                var zh = ZhSegment(entry.Item, d) ?? path[d].Trim();
                return Reasons.PopularIn(path[d].Trim(), zh);
            }
        }
        return Reasons.PopularIn(entry.LeafEn, entry.LeafZh);
    }

    private static string? ZhSegment(Abstractions.Item item, int depth)
    {
        if (item.Attributes is null || !item.Attributes.TryGetValue("category_path_zh", out var zh)) return null;
        var segments = zh.Split(Abstractions.CategoryPaths.Separator);
        return segments.Length == item.CategoryPath.Count && segments[depth].Trim().Length > 0 ? segments[depth].Trim() : null;
    }
}
