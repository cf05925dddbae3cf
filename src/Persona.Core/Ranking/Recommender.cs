using System.Numerics.Tensors;
using Persona.Abstractions;
using Persona.Core.Models.Sequence;
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
public sealed class Recommender(RecommendationOptions options, ItemCatalog catalog, Func<ItemPairs> pairs, PopularityIndex popularity)
{
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

        var pool = new Dictionary<string, Candidate>(StringComparer.Ordinal);
        // Only the best n × MmrPoolFactor of the blend are ever shown, so each source needs a margin over that, not more.
        var m = Math.Min(options.CandidatesPerSource, Math.Max(50, 2 * n * options.MmrPoolFactor));
        var anchors = user.Personalized ? Anchors(user.Recent) : [];

        // Model: user vector · item vectors, re-encoded from the recent steps on every request.
        var anchorVectors = new Dictionary<string, float[]>(StringComparer.Ordinal);
        if (model is not null && user.Personalized && user.Recent.Count > 0 && w.Model > 0)
        {
            var steps = new List<SequenceStep>(user.Recent.Count);
            foreach (var s in user.Recent)
                if (catalog.TryGet(s.ItemId, out var e)) steps.Add(new SequenceStep(e.Item, s.Type, s.Timestamp));
            if (steps.Count > 0 && model.Model.EncodeUser(steps) is { } userVector && userVector.Length == model.Index.Dimension)
            {
                var hits = model.Index.Search(userVector, m, Accept);
                if (hits.Length > 0)
                {
                    var max = hits[0].Score;
                    var min = hits[^1].Score;
                    foreach (var hit in hits)
                        Get(pool, hit.Id).Model = max > min ? (hit.Score - min) / (max - min) : 1;
                }
                foreach (var (anchor, _) in anchors)
                    if (model.Index.GetVector(anchor.ItemId) is { } v) anchorVectors[anchor.ItemId] = v;
            }
        }

        // Co-occurrence: what tends to follow the user's most recent distinct items.
        if (w.CoOccurrence > 0)
        {
            var shown = n * options.MmrPoolFactor;
            var coOccurrence = pairs();
            foreach (var (anchor, weight) in anchors)
            {
                var total = coOccurrence.Total(anchor.ItemId);
                if (total == 0) continue;
                // Older anchors count less, so fewer of their followers can reach the shown part of the blend.
                foreach (var f in coOccurrence.Followers(anchor.ItemId, Math.Min(m, Math.Max(10, (int)(2 * shown * weight))), Accept))
                {
                    var value = weight * f.Score / total;
                    var c = Get(pool, f.Id);
                    c.CoOccurrence += value;
                    if (value > c.AnchorValue)
                    {
                        c.AnchorValue = value;
                        c.Anchor = anchor.ItemId;
                    }
                }
            }
            ScaleToMax(pool.Values, static c => c.CoOccurrence, static (c, v) => c.CoOccurrence = v);
        }

        // Popularity, overall and within the user's strongest categories (the cold-start path when nothing else fires).
        var affinity = user.Personalized && user.Affinities is { } a ? new AffinityLookup(a) : null;
        foreach (var hit in popularity.Top(null, m, Accept)) Get(pool, hit.Id);
        if (affinity is not null)
            foreach (var key in affinity.TopCategoryKeys(3))
                foreach (var hit in popularity.Top(key, m / 2, Accept)) Get(pool, hit.Id);
        // Popular among shoppers who share the user's attributes: each group's best scaled to 1, the strongest group counting.
        if (user.Personalized && w.Segment > 0)
            foreach (var segment in user.Segments)
            {
                var best = popularity.TopScore(segment.Key);
                if (best <= 0) continue;
                foreach (var hit in popularity.Top(segment.Key, m / 2, Accept))
                {
                    var c = Get(pool, hit.Id);
                    var value = Math.Sqrt(Math.Clamp(hit.Score / best, 0, 1));
                    if (value <= c.Segment) continue;
                    c.Segment = value;
                    c.SegmentLabel = segment;
                }
            }
        var popularityScores = popularity.Overall();
        var popularityMax = popularityScores.Best;

        var ranked = new List<Scored>(pool.Count);
        foreach (var (id, c) in pool)
        {
            var entry = catalog.TryGet(id, out var e) ? e : null;
            if (entry is null) continue;
            if (popularityMax > 0) c.Popularity = Math.Sqrt(Math.Clamp(popularityScores.Of(id, entry.Number) / popularityMax, 0, 1));
            if (affinity is not null) (c.Affinity, c.AffinityLabel) = affinity.Of(entry);
            var score = w.Model * c.Model + w.CoOccurrence * c.CoOccurrence
                + w.Affinity * c.Affinity + w.Popularity * c.Popularity + w.Segment * c.Segment;
            ranked.Add(new Scored(entry, c, score));
        }
        ranked.Sort(static (x, y) => y.Score != x.Score ? y.Score.CompareTo(x.Score) : string.CompareOrdinal(x.Entry.Item.Id, y.Entry.Item.Id));
        if (query.CollapseVariants ?? options.CollapseVariants) ranked = BestOfEachGroup(ranked, exceptGroup: null);
        var order = Diversify(ranked, n, query.Diversity, model);

        var results = new List<Recommendation>(order.Length);
        foreach (var i in order)
        {
            var r = ranked[i];
            (string Source, double Value)[] parts =
            [
                (RecommendationSources.Model, w.Model * r.Candidate.Model),
                (RecommendationSources.CoOccurrence, w.CoOccurrence * r.Candidate.CoOccurrence),
                (RecommendationSources.Affinity, w.Affinity * r.Candidate.Affinity),
                (RecommendationSources.Popularity, w.Popularity * r.Candidate.Popularity),
                (RecommendationSources.Segment, w.Segment * r.Candidate.Segment),
            ];
            var sources = parts.Where(p => p.Value > 0).OrderByDescending(p => p.Value).Select(p => p.Source).ToList();
            if (sources.Count == 0) sources.Add(RecommendationSources.Popularity);
            results.Add(new Recommendation(r.Entry.Item.Id, r.Entry.TitleEn, Math.Round(r.Score, 6), sources,
                ReasonFor(r, sources, category, user, anchorVectors, model)));
        }
        return results;
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
        var pool = new Dictionary<string, Candidate>(StringComparer.Ordinal);
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

        var ranked = new List<Scored>(pool.Count);
        foreach (var (id, c) in pool)
        {
            if (!catalog.TryGet(id, out var entry)) continue;
            var score = w.Model * c.Model + w.CoOccurrence * c.CoOccurrence + w.Text * c.Text + w.Popularity * c.Popularity;
            ranked.Add(new Scored(entry, c, score));
        }
        ranked.Sort(static (x, y) => y.Score != x.Score ? y.Score.CompareTo(x.Score) : string.CompareOrdinal(x.Entry.Item.Id, y.Entry.Item.Id));
        // The item's own other colours and sizes are not "similar items"; nor are several variants of one other product.
        if (collapseVariants ?? options.CollapseVariants) ranked = BestOfEachGroup(ranked, exceptGroup: self.GroupKey);
        var results = new List<Recommendation>(Math.Min(n, ranked.Count));
        foreach (var r in ranked.Take(n))
        {
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

    /// <summary>The first (best) candidate of each product group, in order; <paramref name="exceptGroup"/>'s members left out.</summary>
    private static List<Scored> BestOfEachGroup(List<Scored> ranked, ulong? exceptGroup)
    {
        var groups = new HashSet<ulong>();
        if (exceptGroup is { } except) groups.Add(except);
        var kept = new List<Scored>(ranked.Count);
        foreach (var r in ranked)
            if (groups.Add(r.Entry.GroupKey)) kept.Add(r);
        return kept;
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

    private int[] Diversify(List<Scored> ranked, int n, double diversity, ModelView? model)
    {
        var poolSize = Math.Min(ranked.Count, n * options.MmrPoolFactor);
        if (diversity <= 0 || poolSize <= n) return [.. Enumerable.Range(0, Math.Min(n, ranked.Count))];
        var best = ranked[0].Score > 0 ? ranked[0].Score : 1;
        var relevance = new double[poolSize];
        var vectors = new float[]?[poolSize];
        for (var i = 0; i < poolSize; i++)
        {
            relevance[i] = ranked[i].Score / best;
            vectors[i] = model?.Index.GetVector(ranked[i].Entry.Item.Id);
        }
        return Mmr.Select(relevance, n, diversity, (a, b) => Similarity(ranked[a].Entry, vectors[a], ranked[b].Entry, vectors[b]));
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

    private Reason ReasonFor(Scored r, List<string> sources, string? category, UserContext user,
        Dictionary<string, float[]> anchorVectors, ModelView? model)
    {
        foreach (var source in sources)
        {
            switch (source)
            {
                case RecommendationSources.Model:
                    {
                        // Name the recent item most like this one; without one, the next source explains it better.
                        var vector = model?.Index.GetVector(r.Entry.Item.Id);
                        BehaviorStep? nearest = null;
                        var bestCosine = 0f;
                        if (vector is not null)
                        {
                            for (var i = user.Recent.Count - 1; i >= 0; i--)
                            {
                                var step = user.Recent[i];
                                if (step.ItemId == r.Entry.Item.Id || !anchorVectors.TryGetValue(step.ItemId, out var av)) continue;
                                var cosine = TensorPrimitives.CosineSimilarity(vector, av);
                                if (cosine > bestCosine)
                                {
                                    bestCosine = cosine;
                                    nearest = step;
                                }
                            }
                        }
                        if (nearest is { } s && catalog.TryGet(s.ItemId, out var anchor)) return Reasons.SimilarToYour(anchor, s.Type);
                        if (sources.Count == 1) return Reasons.FromRecentActivity();
                        break;
                    }
                case RecommendationSources.CoOccurrence when r.Candidate.Anchor is { } anchorId && catalog.TryGet(anchorId, out var anchor):
                    return Reasons.OftenBoughtAfter(anchor);
                case RecommendationSources.Affinity when r.Candidate.AffinityLabel is { } label:
                    return Reasons.MatchesInterest(label.LabelEn, label.LabelZh);
                case RecommendationSources.Segment when r.Candidate.SegmentLabel is { } segment:
                    return Reasons.PopularWithShoppersLikeYou(segment.LabelEn, segment.LabelZh);
                case RecommendationSources.Popularity:
                    return PopularReason(r.Entry, category);
            }
        }
        return PopularReason(r.Entry, category);
    }

    private static Reason PopularReason(CatalogEntry entry, string? category)
    {
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

    private static string? ZhSegment(Item item, int depth)
    {
        if (item.Attributes is null || !item.Attributes.TryGetValue("category_path_zh", out var zh)) return null;
        var segments = zh.Split(CategoryPaths.Separator);
        return segments.Length == item.CategoryPath.Count && segments[depth].Trim().Length > 0 ? segments[depth].Trim() : null;
    }

    private static Candidate Get(Dictionary<string, Candidate> pool, string id)
    {
        if (!pool.TryGetValue(id, out var c)) pool[id] = c = new Candidate();
        return c;
    }

    private static void ScaleToMax(IEnumerable<Candidate> candidates, Func<Candidate, double> get, Action<Candidate, double> set)
    {
        var max = 0.0;
        foreach (var c in candidates) max = Math.Max(max, get(c));
        if (max <= 0) return;
        foreach (var c in candidates) set(c, get(c) / max);
    }

    private sealed class Candidate
    {
        public double Model;
        public double CoOccurrence;
        public double Affinity;
        public double Popularity;
        public double Text;
        public string? Anchor;
        public double AnchorValue;
        public Affinity? AffinityLabel;
        public double Segment;
        public UserSegment? SegmentLabel;
    }

    private sealed record Scored(CatalogEntry Entry, Candidate Candidate, double Score);

    /// <summary>The profile's category and brand shares by key.</summary>
    private sealed class AffinityLookup
    {
        private readonly Dictionary<string, Affinity> _categories = new(StringComparer.Ordinal);
        private readonly Dictionary<string, Affinity> _brands = new(StringComparer.OrdinalIgnoreCase);
        private readonly List<Affinity> _ordered;
        // The catalog shares one key list per category path, so a request's candidates mostly hit here.
        private readonly Dictionary<IReadOnlyList<string>, Affinity?> _byPath = new(ReferenceEqualityComparer.Instance);

        public AffinityLookup(Affinities affinities)
        {
            foreach (var c in affinities.Categories) _categories.TryAdd(c.Key, c);
            foreach (var b in affinities.Brands) _brands.TryAdd(b.Key, b);
            var deepest = affinities.Categories.Count == 0 ? 0 : affinities.Categories.Max(c => c.Level);
            // The deepest level is the most telling; a single root (everything is "Beauty") says nothing.
            _ordered = [.. affinities.Categories.Where(c => c.Level == deepest || (c.Level >= 2 && c.Share >= 0.2)).OrderByDescending(c => c.Score)];
        }

        public IEnumerable<string> TopCategoryKeys(int count) => _ordered.Take(count).Select(c => c.Key);

        public (double Value, Affinity? Label) Of(CatalogEntry entry)
        {
            var keys = entry.CategoryKeys;
            if (!_byPath.TryGetValue(keys, out var best))
            {
                for (var d = keys.Count > 1 ? 1 : 0; d < keys.Count; d++)
                    if (_categories.TryGetValue(keys[d], out var c) && (best is null || c.Share > best.Share)) best = c;
                _byPath[keys] = best;
            }
            Affinity? brand = entry.Item.Brand is { Length: > 0 } name && _brands.TryGetValue(name.Trim(), out var b) ? b : null;
            var categoryShare = best?.Share ?? 0;
            var brandShare = 0.5 * (brand?.Share ?? 0);
            var value = Math.Min(1, categoryShare + brandShare);
            return (value, brandShare > categoryShare ? brand : best);
        }
    }
}
