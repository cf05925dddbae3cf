using Persona.Abstractions;
using Persona.Core.Profiles;

namespace Persona.Core.Search;

/// <summary>
/// Weights of the personal re-ranker, one per <see cref="PersonalReranker.FeatureNames"/>: the final score of a
/// candidate is <c>w·f</c>, where f[0] is its non-personal (hybrid) score. Learned by pairwise logistic regression
/// from (query, clicked item) logs when there are enough; <see cref="Default"/> otherwise.
/// </summary>
public sealed record RerankerWeights(IReadOnlyList<double> Weights, string Source, int TrainingPairs)
{
    /// <summary>
    /// Defaults learned pairwise on the Amazon Beauty validation step (rounded, base weight scaled to 1): co-visitation
    /// with recent items and brand affinity carry the most, category affinity less. Beauty has no prices and no
    /// sequence model ran there, so the price-band and sequence weights are set by hand to moderate values.
    /// </summary>
    public static RerankerWeights Default { get; } = new([1.0, 0.25, 2.5, 0.3, 0.5, 3.3], "default", 0);
}

/// <summary>Personal features of candidates and the re-ranking they drive.</summary>
public static class PersonalReranker
{
    public static IReadOnlyList<string> FeatureNames { get; } = ["base", "category", "brand", "price_band", "sequence", "recent"];
    public const int FeatureCount = 6;

    /// <summary>Per-user lookups prepared once per query.</summary>
    public sealed class UserSignals
    {
        internal Dictionary<string, double> Categories { get; } = new(StringComparer.Ordinal);
        internal Dictionary<string, double> Brands { get; } = new(StringComparer.Ordinal);
        internal Dictionary<string, double> Bands { get; } = new(StringComparer.Ordinal);
        internal Dictionary<string, float> Neighbours { get; init; } = [];
        internal SearchUser User { get; init; } = null!;
        internal CatalogSnapshot? Catalog { get; init; }
        // Items of one category path share their key list in the index, so the category feature is computed once per path.
        internal Dictionary<IReadOnlyList<string>, double> CategoryFeature { get; } = new(ReferenceEqualityComparer.Instance);

        public bool IsEmpty => Categories.Count == 0 && Brands.Count == 0 && Bands.Count == 0 && Neighbours.Count == 0 && User.Embedding is null;
    }

    /// <summary>Prepares the user's lookups; with <paramref name="candidates"/> co-visitation is scored for those items only.</summary>
    public static UserSignals Prepare(SearchUser user, CoVisitation? coVisitation, CatalogSnapshot? catalog, IReadOnlyCollection<string>? candidates = null)
    {
        ArgumentNullException.ThrowIfNull(user);
        var signals = new UserSignals
        {
            User = user,
            Catalog = catalog,
            Neighbours = coVisitation is not null && user.RecentItems.Count > 0 ? coVisitation.Neighbours(user.RecentItems, candidates) : [],
        };
        if (user.Profile?.Affinities is { } a)
        {
            foreach (var c in a.Categories) signals.Categories[c.Key] = c.Share;
            foreach (var b in a.Brands) signals.Brands[b.Key] = b.Share;
            foreach (var p in a.PriceBands) signals.Bands[p.Key] = p.Share;
        }
        return signals;
    }

    /// <summary>
    /// Fills <paramref name="features"/> (length <see cref="FeatureCount"/>) for one candidate;
    /// <paramref name="sequenceCosine"/>, when the caller computed it in bulk, replaces the model lookup.
    /// </summary>
    public static void Features(UserSignals signals, Item item, IReadOnlyList<string> categoryKeys, double baseScore, Span<double> features, double? sequenceCosine = null)
    {
        ArgumentNullException.ThrowIfNull(signals);
        ArgumentNullException.ThrowIfNull(item);
        features.Clear();
        features[0] = baseScore;
        if (categoryKeys.Count > 0)
        {
            if (!signals.CategoryFeature.TryGetValue(categoryKeys, out var category))
            {
                var sum = 0.0;
                foreach (var key in categoryKeys) sum += signals.Categories.GetValueOrDefault(key);
                signals.CategoryFeature[categoryKeys] = category = sum / categoryKeys.Count;
            }
            features[1] = category;
        }
        if (item.Brand is { Length: > 0 } brand)
            features[2] = signals.Brands.GetValueOrDefault(char.IsWhiteSpace(brand[0]) || char.IsWhiteSpace(brand[^1]) ? brand.Trim() : brand);
        if (signals.Bands.Count > 0 && item.Price is not null && signals.Catalog?.PricePercentile(item.Id) is { } pct)
            features[3] = signals.Bands.GetValueOrDefault(pct < 1.0 / 3 ? Tiers.Low : pct > 2.0 / 3 ? Tiers.High : Tiers.Mid);
        if (sequenceCosine is { } known) features[4] = known;
        else if (signals.User is { Embedding: { } u, Model: { } model } && model.Cosine(u, item) is { } cosine) features[4] = cosine;
        if (signals.Neighbours.TryGetValue(item.Id, out var co)) features[5] = co / (co + 0.1);
    }

    /// <summary>
    /// The order of <paramref name="candidates"/> (given best first by their non-personal score) after re-ranking the
    /// first <paramref name="depth"/> by w·f; the tail keeps its order. <paramref name="personal"/>[i] receives
    /// candidate i's personal contribution (w·f − base). <paramref name="sequenceCosines"/>[i], when given, is
    /// candidate i's sequence-model cosine computed in bulk.
    /// </summary>
    public static int[] Rerank(IReadOnlyList<ProductSearchIndex.Candidate> candidates, UserSignals signals, IReadOnlyList<double> weights, int depth, double[] personal, double[]? sequenceCosines = null)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(personal);
        depth = Math.Min(depth, candidates.Count);
        Span<double> features = stackalloc double[FeatureCount];
        // Sort keys: the negated final score, then the tie-break (older items first), so the sort compares plain arrays.
        var keys = new double[depth];
        var sequences = new long[depth];
        for (var i = 0; i < depth; i++)
        {
            var c = candidates[i];
            Features(signals, c.Entry.Item, c.Entry.CategoryKeys, c.Base, features, sequenceCosines is not null && i < sequenceCosines.Length ? sequenceCosines[i] : null);
            personal[i] = Score(weights, features) - c.Base;
            keys[i] = -(c.Base + personal[i]);
            sequences[i] = c.Entry.Sequence;
        }
        var order = new int[candidates.Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, 0, depth, Comparer<int>.Create((a, b) =>
        {
            var c = keys[a].CompareTo(keys[b]);
            return c != 0 ? c : sequences[a].CompareTo(sequences[b]);
        }));
        return order;
    }

    /// <summary>w·f.</summary>
    public static double Score(IReadOnlyList<double> weights, ReadOnlySpan<double> features)
    {
        ArgumentNullException.ThrowIfNull(weights);
        var s = 0.0;
        for (var k = 0; k < features.Length; k++) s += weights[k] * features[k];
        return s;
    }


    /// <summary>
    /// Pairwise logistic learning to rank: minimises Σ log(1 + exp(−w·(f⁺ − f⁻))) + λ‖w‖² by SGD over (clicked,
    /// skipped) feature pairs, then scales w so the base weight is 1 (ranking is unchanged by a positive scale).
    /// Falls back to <see cref="RerankerWeights.Default"/> with fewer than <paramref name="minPairs"/> pairs or
    /// when the base weight comes out non-positive.
    /// </summary>
    public static RerankerWeights Train(IReadOnlyList<(double[] Clicked, double[] Skipped)> pairs, int epochs = 20, double learningRate = 0.1, double l2 = 1e-4, int minPairs = 200, int seed = 7)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        if (pairs.Count < minPairs) return RerankerWeights.Default;
        var w = RerankerWeights.Default.Weights.ToArray();
        var order = Enumerable.Range(0, pairs.Count).ToArray();
        var random = new Random(seed);
        var diff = new double[FeatureCount];
        // A feature that never differs within a pair carries no evidence: keep its default instead of shrinking it to 0.
        var observed = new bool[FeatureCount];
        foreach (var (pos, neg) in pairs)
            for (var k = 0; k < FeatureCount; k++) observed[k] |= pos[k] != neg[k];
        for (var epoch = 0; epoch < epochs; epoch++)
        {
            random.Shuffle(order);
            var rate = learningRate / (1 + epoch);
            foreach (var i in order)
            {
                var (pos, neg) = pairs[i];
                var margin = 0.0;
                for (var k = 0; k < FeatureCount; k++)
                {
                    diff[k] = pos[k] - neg[k];
                    margin += w[k] * diff[k];
                }
                // d/dw log(1 + e^−m) = −σ(−m) · diff.
                var g = 1 / (1 + Math.Exp(margin));
                for (var k = 0; k < FeatureCount; k++)
                    if (observed[k]) w[k] += rate * (g * diff[k] - l2 * w[k]);
            }
        }
        if (!(w[0] > 1e-6)) return RerankerWeights.Default;
        var scale = w[0];
        var defaults = RerankerWeights.Default.Weights;
        return new RerankerWeights(w.Select((x, k) => observed[k] ? Math.Round(x / scale, 4) : defaults[k]).ToArray(), "learned", pairs.Count);
    }

    /// <summary>A bilingual reason naming the personal feature that contributed most, or null when none did.</summary>
    public static SearchReason? Reason(IReadOnlyList<double> weights, ReadOnlySpan<double> features, Item item, CatalogSnapshot? catalog)
    {
        ArgumentNullException.ThrowIfNull(weights);
        ArgumentNullException.ThrowIfNull(item);
        var best = -1;
        var bestValue = 0.0;
        for (var k = 1; k < features.Length; k++)
        {
            var c = weights[k] * features[k];
            if (c > bestValue + 1e-9)
            {
                best = k;
                bestValue = c;
            }
        }
        switch (best)
        {
            case 1:
                var key = item.CategoryPath.Count > 0 ? CategoryPaths.Key(item.CategoryPath, item.CategoryPath.Count) : "";
                var last = item.CategoryPath.Count > 0 ? item.CategoryPath[^1] : "";
                var (en, zh) = catalog?.CategoryLabel(key) ?? (last, last);
                return new SearchReason($"You often shop {en}", $"你常逛的类目：{zh}");
            case 2:
                var (ben, bzh) = catalog?.BrandLabel(item.Brand!) ?? (item.Brand!, item.Brand!);
                return new SearchReason($"A brand you like: {ben}", $"你偏好的品牌：{bzh}");
            case 3:
                return new SearchReason("In your usual price range", "符合你常买的价位");
            case 4:
                return new SearchReason("Fits your recent shopping pattern", "符合你近期的购物习惯");
            case 5:
                return new SearchReason("Often bought with items you recently chose", "与你最近购买/浏览的商品常被一起购买");
            default:
                return null;
        }
    }
}
