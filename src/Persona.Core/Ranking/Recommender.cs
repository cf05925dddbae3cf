using System.Numerics.Tensors;
using Persona.Abstractions;
using Persona.Core.Models.Sequence;
using Persona.Core.Ranking.Rerankers;
using Persona.Core.Ranking.Sources;
using Persona.Core.Retrieval;

namespace Persona.Core.Ranking;

/// <summary>
/// Turns candidates from the sequence model's vector index, "next item" co-occurrence of the user's recent items
/// and (affinity-shaped) popularity into a ranked, filtered, diversified list with a reason per item.
/// </summary>
/// <remarks>
/// Each source's scores are scaled to 0..1 within the request (model: min–max over its top candidates;
/// co-occurrence: Σ over recent anchors of decay^rank · P(item | anchor), divided by the best; popularity:
/// √(score / best score)), and affinity is the user's share of the item's category (level 2 and deeper when
/// the path has them) plus half the share of its brand, capped at 1. The blend is Σ weight · scaled score; the
/// reason comes from the term that contributed most. Filters run before candidates compete, so they always hold.
/// Stateless apart from the indexes it reads: safe for concurrent requests. The item pairs are read through a
/// function because the one structure is replaced when an erasure recounts it.
/// </remarks>
public sealed class Recommender(RecommendationOptions options, ItemCatalog catalog, Func<ItemPairs> pairs, PopularityIndex popularity, CandidateSources? registry = null)
{
    private readonly CandidateSources sources = registry ?? CandidateSources.Default;
    // After the blend: one item per product group, then diversity (MMR) choosing what is shown.
    private readonly IReranker[] _rerankers = [new ProductGroupCollapse(), new MmrDiversity(options.MmrPoolFactor)];

    public RecommendationOptions Options => options;

    public IReadOnlyList<Recommendation> Recommend(UserContext user, RecommendationQuery query, ModelView? model)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(query);
        var n = Math.Clamp(query.Count, 0, options.MaxN);
        if (n == 0) return [];
        var w = query.Weights ?? SourceWeights.From(options);
        var seen = user.Personalized && query.ExcludeSeen ? user.Seen : null;
        var category = string.IsNullOrWhiteSpace(query.Category) ? null : query.Category.Trim();
        bool Accept(string id) =>
            catalog.TryGet(id, out var e) && e.Item.Available && !query.Exclude.Contains(id)
            && (seen is null || !seen.Contains(id)) && (category is null || e.InCategory(category));

        var request = new CandidateRequest
        {
            User = user,
            Query = query,
            Model = model,
            Catalog = catalog,
            Pairs = pairs(),
            Popularity = popularity,
            Options = options,
            Count = n,
            // Only the best n × MmrPoolFactor of the blend are ever shown, so each source needs a margin over that, not more.
            PerSource = Math.Min(options.CandidatesPerSource, Math.Max(50, 2 * n * options.MmrPoolFactor)),
            Accept = Accept,
            Anchors = user.Personalized ? Anchors(user.Recent) : [],
            Affinity = user.Personalized && user.Affinities is { } a ? new AffinityLookup(a) : null,
        };
        var all = sources.All;
        var weights = new double[all.Count];
        for (var s = 0; s < all.Count; s++) weights[s] = w.Of(all[s].Name);
        var pool = new CandidatePool(all.Count);
        for (var s = 0; s < all.Count; s++)
            if (weights[s] > 0 || all[s].AlwaysGathers) all[s].Gather(request, pool, s);
        for (var s = 0; s < all.Count; s++) all[s].Score(request, pool, s);

        var ranked = new List<Scored>(pool.Count);
        foreach (var c in pool.All)
        {
            if (!catalog.TryGet(c.ItemId, out var entry)) continue;
            var score = 0.0;
            for (var s = 0; s < weights.Length; s++) score += weights[s] * c.Scores[s];
            ranked.Add(new Scored(entry, c, score));
        }
        ranked.Sort(static (x, y) => y.Score != x.Score ? y.Score.CompareTo(x.Score) : string.CompareOrdinal(x.Entry.Item.Id, y.Entry.Item.Id));
        var order = Rerank(new RerankRequest
        {
            Count = n,
            Diversity = query.Diversity,
            CollapseVariants = query.CollapseVariants ?? options.CollapseVariants,
            Model = model,
        }, ranked, static r => (r.Entry, r.Score));

        var results = new List<Recommendation>(order.Count);
        var popularitySlot = IndexOf(RecommendationSources.Popularity);
        foreach (var i in order)
        {
            var r = ranked[i];
            // Strongest contribution first; ties keep the registry's order.
            var contributing = Enumerable.Range(0, all.Count)
                .Where(s => weights[s] * r.Candidate.Scores[s] > 0)
                .OrderByDescending(s => weights[s] * r.Candidate.Scores[s])
                .ToList();
            if (contributing.Count == 0 && popularitySlot >= 0) contributing.Add(popularitySlot);
            var names = contributing.Select(s => all[s].Name).ToList();
            if (names.Count == 0) names.Add(RecommendationSources.Popularity);
            results.Add(new Recommendation(r.Entry.Item.Id, r.Entry.TitleEn, Math.Round(r.Score, 6), names,
                ReasonFor(request, r, contributing, category)));
        }
        return results;
    }

    private int IndexOf(string name)
    {
        for (var s = 0; s < sources.Count; s++)
            if (sources.All[s].Name == name) return s;
        return -1;
    }

    /// <summary>The first contributing source that explains the item, strongest first; else "popular in" its category.</summary>
    private Reason ReasonFor(CandidateRequest request, Scored r, List<int> contributing, string? category)
    {
        foreach (var s in contributing)
            if (sources.All[s].Explain(request, r.Candidate, r.Entry, s, onlySource: contributing.Count == 1) is { } reason) return reason;
        return PopularitySource.PopularReason(r.Entry, category);
    }

    /// <summary>
    /// Items like <paramref name="item"/>: nearest by the model's item vectors (cosine), items that often follow
    /// it, nearest by the meaning of their text (<paramref name="text"/>), and popular items of its own leaf category,
    /// blended by <paramref name="weights"/> (null: the configured ones). The item itself and unavailable items are left out.
    /// </summary>
    public IReadOnlyList<Recommendation> Similar(Item item, int count, ModelView? model, bool? collapseVariants = null, IItemTextNeighbours? text = null,
        SourceWeights? weights = null)
    {
        ArgumentNullException.ThrowIfNull(item);
        var n = Math.Clamp(count, 0, options.MaxN);
        if (n == 0) return [];
        var w = weights ?? SourceWeights.From(options);
        var self = CatalogEntry.From(item);
        bool Accept(string id) => id != item.Id && catalog.TryGet(id, out var e) && e.Item.Available;
        var pool = new Dictionary<string, SimilarCandidate>(StringComparer.Ordinal);
        var m = options.CandidatesPerSource;
        if (model is not null && (model.Index.GetVector(item.Id) ?? model.Model.ItemVector(item)) is { } vector && vector.Length == model.Index.Dimension)
            foreach (var hit in model.Index.Search(vector, m, Accept, cosine: true))
                Get(pool, hit.Id).Model = Math.Max(0, hit.Score);
        var coOccurrence = pairs();
        var total = coOccurrence.Total(item.Id);
        if (total > 0)
        {
            foreach (var f in coOccurrence.Followers(item.Id, m, Accept)) Get(pool, f.Id).CoOccurrence = f.Score / total;
            ScaleToMax(pool.Values, static c => c.CoOccurrence, static (c, v) => c.CoOccurrence = v);
        }
        if (text is not null && w.Text > 0)
            foreach (var hit in text.Nearest(item.Id, m, Accept))
                Get(pool, hit.Id).Text = Math.Max(0, hit.Score);
        var leaf = self.CategoryKeys.Count > 0 ? self.CategoryKeys[^1] : null;
        var popular = popularity.Top(leaf, m, Accept);
        var popularMax = popularity.TopScore(leaf);
        foreach (var hit in popular) Get(pool, hit.Id).Popularity = popularMax > 0 ? Math.Sqrt(Math.Clamp(hit.Score / popularMax, 0, 1)) : 0;

        var ranked = new List<SimilarScored>(pool.Count);
        foreach (var (id, c) in pool)
        {
            if (!catalog.TryGet(id, out var entry)) continue;
            var score = w.Model * c.Model + w.CoOccurrence * c.CoOccurrence + w.Text * c.Text + w.Popularity * c.Popularity;
            ranked.Add(new SimilarScored(entry, c, score));
        }
        ranked.Sort(static (x, y) => y.Score != x.Score ? y.Score.CompareTo(x.Score) : string.CompareOrdinal(x.Entry.Item.Id, y.Entry.Item.Id));
        // The item's own other colours and sizes are not "similar items"; nor are several variants of one other product.
        var order = Rerank(new RerankRequest { Count = n, CollapseVariants = collapseVariants ?? options.CollapseVariants, ExceptGroup = self.GroupKey }, ranked,
            static r => (r.Entry, r.Score));
        var results = new List<Recommendation>(order.Count);
        foreach (var i in order)
        {
            var r = ranked[i];
            (string Source, double Value)[] parts =
            [
                (RecommendationSources.Model, w.Model * r.Candidate.Model),
                (RecommendationSources.CoOccurrence, w.CoOccurrence * r.Candidate.CoOccurrence),
                (RecommendationSources.Text, w.Text * r.Candidate.Text),
                (RecommendationSources.Popularity, w.Popularity * r.Candidate.Popularity),
            ];
            var sources = parts.Where(p => p.Value > 0).OrderByDescending(p => p.Value).Select(p => p.Source).ToList();
            if (sources.Count == 0) sources.Add(RecommendationSources.Popularity);
            var reason = sources[0] switch
            {
                RecommendationSources.Model or RecommendationSources.Text => Reasons.SimilarTo(self),
                RecommendationSources.CoOccurrence => Reasons.OftenBoughtAfter(self),
                _ => Reasons.PopularIn(r.Entry.LeafEn, r.Entry.LeafZh),
            };
            results.Add(new Recommendation(r.Entry.Item.Id, r.Entry.TitleEn, Math.Round(r.Score, 6), sources, reason));
        }
        return results;
    }

    /// <summary>Runs the re-rankers in order over the blend's ranking; returns the blend positions shown, in order.</summary>
    private IReadOnlyList<int> Rerank<T>(RerankRequest request, List<T> ranked, Func<T, (CatalogEntry Entry, double Score)> view)
    {
        var items = new List<RankedItem>(ranked.Count);
        for (var i = 0; i < ranked.Count; i++)
        {
            var (entry, score) = view(ranked[i]);
            items.Add(new RankedItem(entry, score, i));
        }
        foreach (var reranker in _rerankers)
        {
            var kept = reranker.Rerank(request, items);
            var next = new List<RankedItem>(kept.Count);
            foreach (var k in kept) next.Add(items[k]);
            items = next;
        }
        return items.Count > request.Count ? [.. items.Take(request.Count).Select(r => r.BlendIndex)] : [.. items.Select(r => r.BlendIndex)];
    }

    /// <summary>The user's most recent distinct catalog items, newest first, with weight decay^rank.</summary>
    private List<(BehaviorStep Step, double Weight)> Anchors(IReadOnlyList<BehaviorStep> recent)
    {
        var anchors = new List<(BehaviorStep, double)>(options.AnchorItems);
        var taken = new HashSet<string>(StringComparer.Ordinal);
        var weight = 1.0;
        for (var i = recent.Count - 1; i >= 0 && anchors.Count < options.AnchorItems; i--)
        {
            if (!taken.Add(recent[i].ItemId) || !catalog.TryGet(recent[i].ItemId, out _)) continue;
            anchors.Add((recent[i], weight));
            weight *= options.AnchorDecay;
        }
        return anchors;
    }

    /// <summary>Cosine of the model's item vectors when both have one (negative taken as 0), else shared category depth and brand.</summary>
    public static double Similarity(CatalogEntry a, float[]? va, CatalogEntry b, float[]? vb)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (va is not null && vb is not null && va.Length == vb.Length)
            return Math.Max(0, TensorPrimitives.CosineSimilarity(va, vb));
        var depth = Math.Max(a.CategoryKeys.Count, b.CategoryKeys.Count);
        var shared = 0;
        while (shared < Math.Min(a.CategoryKeys.Count, b.CategoryKeys.Count) && a.CategoryKeys[shared] == b.CategoryKeys[shared]) shared++;
        var sameBrand = a.Item.Brand is { Length: > 0 } brand && string.Equals(brand, b.Item.Brand, StringComparison.OrdinalIgnoreCase);
        return (depth == 0 ? 0 : 0.7 * shared / depth) + (sameBrand ? 0.3 : 0);
    }

    private static SimilarCandidate Get(Dictionary<string, SimilarCandidate> pool, string id)
    {
        if (!pool.TryGetValue(id, out var c)) pool[id] = c = new SimilarCandidate();
        return c;
    }

    private static void ScaleToMax(IEnumerable<SimilarCandidate> candidates, Func<SimilarCandidate, double> get, Action<SimilarCandidate, double> set)
    {
        var max = 0.0;
        foreach (var c in candidates) max = Math.Max(max, get(c));
        if (max <= 0) return;
        foreach (var c in candidates) set(c, get(c) / max);
    }

    /// <summary>A similar-items candidate: its scaled score per source.</summary>
    private sealed class SimilarCandidate
    {
        public double Model;
        public double CoOccurrence;
        public double Popularity;
        public double Text;
    }

    private sealed record SimilarScored(CatalogEntry Entry, SimilarCandidate Candidate, double Score);

    private sealed record Scored(CatalogEntry Entry, Candidate Candidate, double Score);
}
