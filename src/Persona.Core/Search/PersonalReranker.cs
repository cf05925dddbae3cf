using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Core.Retrieval;

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
    public static RerankerWeights Default { get; } = new([1.0, 0.25, 2.5, 0.3, 0.5, 3.3, TextDefault], "default", 0);

    /// <summary>
    /// The text-affinity weight (cosine of the candidate's text vector with the user's recent items'), as learned on the
    /// Beauty validation step with the in-domain encoder (0.093; 0.064 with MiniLM).
    /// </summary>
    private const double TextDefault = 0.1;
}

/// <summary>Personal features of candidates and the re-ranking they drive.</summary>
public static class PersonalReranker
{
    public static IReadOnlyList<string> FeatureNames { get; } = ["base", "category", "brand", "price_band", "sequence", "recent", "text"];
    public const int FeatureCount = 7;

    /// <summary>
    /// What re-ranking reads of a user, prepared once per query: affinity shares by brand and category-key ordinal,
    /// price-band shares by tier, the recent items in the co-visitation numbering and the sequence embedding.
    /// </summary>
    public sealed class UserSignals
    {
        internal SearchUser User { get; init; } = null!;
        internal CatalogSnapshot? Catalog { get; init; }
        internal ItemPairs? CoVisitation { get; init; }
        /// <summary>Cosine of a candidate's text vector with the user's recent items' (null: no encoder or no such item).</summary>
        internal Func<ProductSearchIndex.Candidate, double>? TextAffinity { get; init; }
        internal ResolvedUser Resolved { get; init; } = null!;
        internal int[] Recent => Resolved.Recent;
        /// <summary>Whether entries' item ordinals are in the co-visitation numbering (else their ids are looked up).</summary>
        internal bool SharedNumbering { get; init; }
        internal Dictionary<int, double> Categories => Resolved.Categories;
        internal Dictionary<int, double> Brands => Resolved.Brands;
        internal double[]? Bands => Resolved.Bands;
        // Items of one category path share their key ordinals, so the category feature is computed once per path.
        internal Dictionary<int, double> CategoryFeature { get; } = [];

        /// <summary>Whether the profile's affinities or the sequence model say anything about the user.</summary>
        public bool HasProfileSignals => Categories.Count > 0 || Brands.Count > 0 || Bands is not null || User.Embedding is not null || TextAffinity is not null;

        /// <summary>Whether nothing about the user can move a candidate.</summary>
        public bool IsEmpty => !HasProfileSignals && Recent.Length == 0;

        /// <summary>scores[i] = co-visitation of the user's recent items with candidates[i] (0 without any), for the first scores.Length.</summary>
        internal void CoScores(IReadOnlyList<ProductSearchIndex.Candidate> candidates, ReadOnlySpan<CandidateFacts> facts, Span<float> scores)
        {
            if (CoVisitation is null || Recent.Length == 0)
            {
                scores.Clear();
                return;
            }
            var count = scores.Length;
            Span<int> ordinals = count <= 256 ? stackalloc int[count] : new int[count];
            for (var i = 0; i < count; i++)
                ordinals[i] = SharedNumbering ? facts[i].Ordinal : CoVisitation.Items.Find(candidates[i].Entry.Item.Id);
            CoVisitation.Score(Recent, ordinals, scores);
        }
    }

    /// <summary>What re-ranking reads of a candidate, packed so a query's head is one contiguous array.</summary>
    public readonly record struct CandidateFacts(double Base, long Sequence, int Ordinal, int Brand, int Path)
    {
        public static CandidateFacts Of(ProductSearchIndex.Candidate candidate)
        {
            var entry = candidate.Entry;
            return new(candidate.Base, entry.Sequence, entry.Ordinal, entry.Brand, entry.CategoryKeyOrdinals.Length > 0 ? entry.CategoryKeyOrdinals[^1] : -1);
        }
    }

    /// <summary>The item's price tier in the catalog: 0 low, 1 mid, 2 high (thirds of the price percentile); -1 without a price.</summary>
    public static int PriceTier(CatalogSnapshot? catalog, Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        if (item.Price is null || catalog?.PricePercentile(item.Id) is not { } pct) return -1;
        return pct < 1.0 / 3 ? 0 : pct > 2.0 / 3 ? 2 : 1;
    }

    /// <summary>
    /// A user's affinity keys and recent items in the numberings of one index and co-visitation; read-only once built, so
    /// concurrent searches of one cached user share it.
    /// </summary>
    internal sealed class ResolvedUser
    {
        public required SearchKeys Keys { get; init; }
        public required ItemPairs? CoVisitation { get; init; }
        /// <summary>The user's recent items in the co-visitation numbering, newest last (items it never saw left out).</summary>
        public int[] Recent { get; init; } = [];
        public Dictionary<int, double> Categories { get; } = [];
        public Dictionary<int, double> Brands { get; } = [];
        /// <summary>Share of each price tier (low, mid, high); null without price-band affinities.</summary>
        public double[]? Bands { get; set; }
        /// <summary>The numberings' sizes when some key was not found yet (null: all were), so a later key can be picked up.</summary>
        public (int Brands, int Categories, int Items)? Incomplete { get; set; }

        public bool Fits(SearchKeys keys, ItemPairs? coVisitation) =>
            ReferenceEquals(keys, Keys) && ReferenceEquals(coVisitation, CoVisitation)
            && (Incomplete is not { } sizes || sizes == (keys.Brands.Count, keys.Categories.Count, coVisitation?.Items.Count ?? 0));
    }

    // Keyed by the searcher object, which the search service caches while the user's steps and profile are unchanged.
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SearchUser, ResolvedUser> Resolutions = new();

    /// <summary>Prepares the user's lookups against the numberings <paramref name="keys"/> of the index the candidates come from.</summary>
    /// <remarks><paramref name="textAffinity"/> gives the text-affinity feature (<see cref="ProductSearchIndex.TextAffinityOf"/>); null leaves it 0.</remarks>
    public static UserSignals Prepare(SearchUser user, SearchKeys keys, ItemPairs? coVisitation, CatalogSnapshot? catalog,
        Func<ProductSearchIndex.Candidate, double>? textAffinity = null)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(keys);
        if (!Resolutions.TryGetValue(user, out var resolved) || !resolved.Fits(keys, coVisitation))
        {
            resolved = Resolve(user, keys, coVisitation);
            Resolutions.AddOrUpdate(user, resolved);
        }
        return new UserSignals
        {
            User = user,
            Catalog = catalog,
            CoVisitation = coVisitation,
            Resolved = resolved,
            TextAffinity = textAffinity,
            SharedNumbering = coVisitation is not null && ReferenceEquals(keys.Items, coVisitation.Items),
        };
    }

    private static ResolvedUser Resolve(SearchUser user, SearchKeys keys, ItemPairs? coVisitation)
    {
        var sizes = (keys.Brands.Count, keys.Categories.Count, coVisitation?.Items.Count ?? 0);
        var complete = true;
        var recent = new List<int>(user.RecentItems.Count);
        if (coVisitation is not null)
            foreach (var id in user.RecentItems)
                if (coVisitation.Items.Find(id) is >= 0 and var ordinal) recent.Add(ordinal);
                else complete = false;
        var resolved = new ResolvedUser { Keys = keys, CoVisitation = coVisitation, Recent = [.. recent] };
        if (user.Profile?.Affinities is { } a)
        {
            // Keys the index never saw can match no candidate yet.
            foreach (var c in a.Categories)
                if (keys.Categories.Find(c.Key) is >= 0 and var key) resolved.Categories[key] = c.Share;
                else complete = false;
            foreach (var b in a.Brands)
                if (keys.Brands.Find(b.Key) is >= 0 and var brand) resolved.Brands[brand] = b.Share;
                else complete = false;
            if (a.PriceBands.Count > 0)
            {
                resolved.Bands = new double[3];
                foreach (var p in a.PriceBands)
                    if (p.Key switch { Tiers.Low => 0, Tiers.Mid => 1, Tiers.High => 2, _ => -1 } is >= 0 and var tier) resolved.Bands[tier] = p.Share;
            }
        }
        if (!complete) resolved.Incomplete = sizes;
        return resolved;
    }

    /// <summary>Fills <paramref name="features"/> (length <see cref="FeatureCount"/>) for one candidate.</summary>
    public static void Features(UserSignals signals, ProductSearchIndex.Candidate candidate, Span<double> features)
    {
        ArgumentNullException.ThrowIfNull(signals);
        ArgumentNullException.ThrowIfNull(candidate);
        var item = candidate.Entry.Item;
        var cosine = signals.User is { Embedding: { } u, Model: { } model } ? model.Cosine(u, item) ?? 0 : 0;
        Span<float> co = stackalloc float[1];
        ReadOnlySpan<CandidateFacts> facts = [CandidateFacts.Of(candidate)];
        signals.CoScores([candidate], facts, co);
        Fill(signals, facts[0], [candidate], 0, signals.Bands is null ? -1 : PriceTier(signals.Catalog, item), cosine, co[0], features);
    }

    /// <summary>Features of candidates[at] from its packed facts; the candidate itself is read only for the first of each category path.</summary>
    private static void Fill(
        UserSignals signals, in CandidateFacts facts, IReadOnlyList<ProductSearchIndex.Candidate> candidates, int at, int priceTier, double sequenceCosine, float coScore, Span<double> features)
    {
        features.Clear();
        features[0] = facts.Base;
        if (facts.Path >= 0 && signals.Categories.Count > 0)
        {
            if (!signals.CategoryFeature.TryGetValue(facts.Path, out var category))
            {
                var keys = candidates[at].Entry.CategoryKeyOrdinals;
                var sum = 0.0;
                foreach (var key in keys) sum += signals.Categories.GetValueOrDefault(key);
                signals.CategoryFeature[facts.Path] = category = sum / keys.Length;
            }
            features[1] = category;
        }
        if (facts.Brand >= 0 && signals.Brands.Count > 0) features[2] = signals.Brands.GetValueOrDefault(facts.Brand);
        if (priceTier >= 0 && signals.Bands is { } bands) features[3] = bands[priceTier];
        features[4] = sequenceCosine;
        if (coScore > 0) features[5] = coScore / (coScore + 0.1);
        if (signals.TextAffinity is { } text) features[6] = text(candidates[at]);
    }

    /// <summary>
    /// The order of <paramref name="candidates"/> (given best first by their non-personal score) after re-ranking the
    /// first <paramref name="depth"/> by w·f; the tail keeps its order. <paramref name="personal"/>[i] receives
    /// candidate i's personal contribution (w·f − base).
    /// </summary>
    public static int[] Rerank(
        IReadOnlyList<ProductSearchIndex.Candidate> candidates, UserSignals signals, IReadOnlyList<double> weights, int depth, double[] personal,
        double personalCap = ProductSearchOptions.DefaultPersonalCap)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        ArgumentNullException.ThrowIfNull(signals);
        depth = Math.Min(depth, candidates.Count);
        var facts = new CandidateFacts[depth];
        var tiers = new int[depth];
        var cosines = new double[depth];
        for (var i = 0; i < depth; i++)
        {
            var item = candidates[i].Entry.Item;
            facts[i] = CandidateFacts.Of(candidates[i]);
            tiers[i] = signals.Bands is null ? -1 : PriceTier(signals.Catalog, item);
            if (signals.User is { Embedding: { } u, Model: { } model }) cosines[i] = model.Cosine(u, item) ?? 0;
        }
        var co = new float[depth];
        signals.CoScores(candidates, facts, co);
        return Rerank(new RerankInputs(candidates, facts, tiers, cosines, co, PersonalCap: personalCap), signals, weights, personal);
    }

    /// <summary>
    /// A query's head as re-ranking reads it, (depth) each: candidates, their packed facts, price tiers (-1: none),
    /// sequence-model cosines and co-visitation scores with the user; <see cref="Features"/>, when given, receives
    /// the head's features, (depth, FeatureCount). Only the best <see cref="Top"/> are put in order; the rest of the head
    /// follows them in no particular order. The personal part is capped at <see cref="PersonalCap"/> times each candidate's base
    /// (<see cref="Bounded"/>).
    /// </summary>
    internal readonly record struct RerankInputs(
        IReadOnlyList<ProductSearchIndex.Candidate> Candidates, CandidateFacts[] Facts, int[]? Tiers, double[]? Cosines, float[] CoScores, double[]? Features = null,
        int Top = int.MaxValue, double PersonalCap = ProductSearchOptions.DefaultPersonalCap);

    /// <summary>
    /// The personal part of a candidate's score, w·f − base, squashed smoothly into ±cap·base: it keeps the order of
    /// candidates that match equally well, and one that matches the query less than 1/(1 + cap) as well as another can
    /// never overtake it however strongly the profile favours it.
    /// </summary>
    public static double Bounded(double raw, double @base, double cap)
    {
        if (!(@base > 0)) return 0;
        var limit = cap * @base;
        return limit * Math.Tanh(raw / limit);
    }

    internal static int[] Rerank(in RerankInputs inputs, UserSignals signals, IReadOnlyList<double> weights, double[] personal)
    {
        ArgumentNullException.ThrowIfNull(personal);
        var depth = inputs.Facts.Length;
        var w = weights as double[] ?? [.. weights];
        Span<double> scratch = stackalloc double[FeatureCount];
        var keys = new RankKey[depth];
        for (var i = 0; i < depth; i++)
        {
            ref readonly var f = ref inputs.Facts[i];
            var features = inputs.Features is null ? scratch : inputs.Features.AsSpan(i * FeatureCount, FeatureCount);
            var tier = signals.Bands is null || inputs.Tiers is null ? -1 : inputs.Tiers[i];
            Fill(signals, f, inputs.Candidates, i, tier, inputs.Cosines?[i] ?? 0, inputs.CoScores[i], features);
            personal[i] = Bounded(Score(w, features) - f.Base, f.Base, inputs.PersonalCap);
            keys[i] = new RankKey(f.Base + personal[i], f.Sequence, i);
        }
        SortTop(keys, inputs.Top);
        var order = new int[inputs.Candidates.Count];
        for (var i = 0; i < depth; i++) order[i] = keys[i].Index;
        for (var i = depth; i < order.Length; i++) order[i] = i;
        return order;
    }

    /// <summary>Puts the best <paramref name="top"/> keys first, in order; the others follow in no particular order.</summary>
    private static void SortTop(Span<RankKey> keys, int top)
    {
        var order = default(RankKeyOrder);
        if (top >= keys.Length)
        {
            keys.Sort(order);
            return;
        }
        if (top <= 0) return;
        keys[..top].Sort(order);
        for (var i = top; i < keys.Length; i++)
        {
            if (order.Compare(keys[i], keys[top - 1]) >= 0) continue;
            // Insert it into the ordered prefix; the prefix's worst takes its place.
            var key = keys[i];
            keys[i] = keys[top - 1];
            var j = top - 1;
            for (; j > 0 && order.Compare(key, keys[j - 1]) < 0; j--) keys[j] = keys[j - 1];
            keys[j] = key;
        }
    }

    private readonly record struct RankKey(double Score, long Sequence, int Index);

    /// <summary>Best score first; ties: the older item first.</summary>
    private readonly struct RankKeyOrder : IComparer<RankKey>
    {
        public int Compare(RankKey a, RankKey b)
        {
            var c = b.Score.CompareTo(a.Score);
            return c != 0 ? c : a.Sequence.CompareTo(b.Sequence);
        }
    }

    /// <summary>w·f.</summary>
    private static double Score(double[] weights, ReadOnlySpan<double> features)
    {
        var s = 0.0;
        for (var k = 0; k < features.Length; k++) s += weights[k] * features[k];
        return s;
    }

    /// <summary>w·f.</summary>
    public static double Score(IReadOnlyList<double> weights, ReadOnlySpan<double> features)
    {
        ArgumentNullException.ThrowIfNull(weights);
        return Score(weights as double[] ?? [.. weights], features);
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
            case 6:
                return new SearchReason("Like the items you chose recently", "与你最近选择的商品相似");
            default:
                return null;
        }
    }
}
