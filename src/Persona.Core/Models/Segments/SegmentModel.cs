using Persona.Abstractions;
using Persona.Core.Features;
using Persona.Core.Models.Propensity;
using Persona.Core.Profiles;

namespace Persona.Core.Models.Segments;

/// <summary>Settings of segmentation.</summary>
public sealed class SegmentOptions
{
    public const int DefaultSeed = 42;
    public const int DefaultMinK = 3;
    public const int DefaultMaxK = 8;
    public const int DefaultSilhouetteSample = 1500;
    public const int DefaultMaxCategories = 16;
    public const int DefaultMaxFitUsers = 100_000;

    public int Seed { get; set; } = DefaultSeed;
    /// <summary>Fixed number of segments; 0 chooses k in [<see cref="MinK"/>, <see cref="MaxK"/>] by silhouette.</summary>
    public int K { get; set; }
    public int MinK { get; set; } = DefaultMinK;
    public int MaxK { get; set; } = DefaultMaxK;
    /// <summary>Rows the silhouette is computed on (it is O(n²)).</summary>
    public int SilhouetteSample { get; set; } = DefaultSilhouetteSample;
    /// <summary>Root categories whose shares enter the features (the most reached).</summary>
    public int MaxCategories { get; set; } = DefaultMaxCategories;
    /// <summary>
    /// Users the scaling, k and the centroids are fitted on: all of them up to this many, beyond it a sample of this
    /// many (chosen by <see cref="Seed"/>); every user is then put in the nearest segment.
    /// </summary>
    public int MaxFitUsers { get; set; } = DefaultMaxFitUsers;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (K < 0) problems.Add("K must be 0 (choose by silhouette) or positive.");
        if (MinK < 2 || MaxK < MinK) problems.Add("MinK must be at least 2 and MaxK at least MinK.");
        if (SilhouetteSample < 50) problems.Add("SilhouetteSample must be at least 50.");
        if (MaxFitUsers < 1000) problems.Add("MaxFitUsers must be at least 1000.");
        return problems;
    }
}

/// <summary>
/// What segmentation reads of one profile (<see cref="Of"/>): the six traits as features, the shares of top-level
/// categories and the learned embedding. A few hundred bytes, so a refresh of a million shoppers holds these instead
/// of their profiles.
/// </summary>
public sealed record SegmentInput(string UserId, double[] Traits, KeyValuePair<string, double>[] RootShares, float[]? Embedding)
{
    public static SegmentInput Of(Profile p)
    {
        ArgumentNullException.ThrowIfNull(p);
        var t = p.Traits;
        double[] traits =
        [
            Math.Log(1 + Math.Max(0, t.Rfm.Monetary)),
            Math.Log(1 + t.Rfm.Frequency),
            Math.Log(1 + (t.LastSeen is { } seen ? Math.Max(0, (p.AsOf - seen).TotalDays) : 365)),
            Math.Log(1 + t.EventsPerActiveDay),
            t.PricePercentile ?? 0.5,
            t.PriceSensitivity ?? 0,
        ];
        var roots = p.Affinities.Categories.Where(a => a.Level == 1).Select(a => KeyValuePair.Create(a.Key, a.Share)).ToArray();
        return new SegmentInput(p.UserId, traits, roots, p.Embedding is { Length: > 0 } e ? e : null);
    }
}

/// <summary>A segment: id, bilingual label, size, and the centroid's standardised value (z) per feature.</summary>
public sealed record SegmentInfo(string Id, string LabelEn, string LabelZh, int Size, double Share, IReadOnlyDictionary<string, double> Centroid);

/// <summary>A user's place on the dashboard's 2-D PCA map.</summary>
public sealed record ProjectedUser(string UserId, string SegmentId, double X, double Y);

/// <summary>The segmentation of all users at one time: segments, each user's membership and map position.</summary>
public sealed record SegmentModel
{
    public required string Version { get; init; }
    public required DateTimeOffset ComputedAt { get; init; }
    public required int K { get; init; }
    /// <summary>Mean silhouette of the chosen k on the sample (0 when it cannot be computed).</summary>
    public double Silhouette { get; init; }
    /// <summary>Silhouette per candidate k, when k was chosen.</summary>
    public IReadOnlyDictionary<int, double> SilhouetteByK { get; init; } = new Dictionary<int, double>();
    public required IReadOnlyList<string> Features { get; init; }
    public required IReadOnlyList<SegmentInfo> Segments { get; init; }
    public required IReadOnlyDictionary<string, SegmentMembership> Members { get; init; }
    public required IReadOnlyList<ProjectedUser> Projection { get; init; }

    /// <summary>Every <c>n/max</c>-th projected user: an even, deterministic sample for plotting.</summary>
    public IReadOnlyList<ProjectedUser> ProjectionSample(int max)
    {
        if (max <= 0 || Projection.Count <= max) return Projection;
        var step = Projection.Count / (double)max;
        return [.. Enumerable.Range(0, max).Select(i => Projection[(int)(i * step)])];
    }
}

/// <summary>
/// Groups users with k-means (k-means++ seeding, k by silhouette unless given) over standardised profile
/// traits (spend, purchases, recency, activity, price position and sensitivity), top-level category shares
/// and, when every profile has one, the learned embedding (scaled to weigh like two traits). Labels come
/// from the centroid's most pronounced traits and its over-represented category, in Chinese and English.
/// </summary>
public sealed class SegmentBuilder(SegmentOptions? options = null)
{
    private static readonly (string Name, string HighZh, string HighEn, string? LowZh, string? LowEn)[] Traits =
    [
        ("monetary", "高价值", "high value", "低消费", "low spend"),
        ("purchases", "常购", "frequent buyers", null, null),
        ("days_since_last_seen", "沉睡", "dormant", "近期活跃", "recently active"),
        ("events_per_active_day", "高频浏览", "heavy browsers", null, null),
        ("price_percentile", "高端", "premium", "实惠", "budget"),
        ("price_sensitivity", "价格敏感", "price-sensitive", null, null),
    ];

    /// <summary>How far (in standard deviations) a centroid must stand from the mean for a trait to name it.</summary>
    private const double TraitZ = 0.35;

    private readonly SegmentOptions _options = options ?? new SegmentOptions();

    public SegmentModel Build(IReadOnlyList<Profile> profiles, CatalogSnapshot catalog, DateTimeOffset computedAt)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        return Build(profiles.Select(SegmentInput.Of).ToList(), catalog, computedAt);
    }

    /// <summary>
    /// Segments the users: up to <see cref="SegmentOptions.MaxFitUsers"/> the fit is over all of them; beyond it the
    /// scaling, k and centroids come from a seeded sample and every user joins the nearest centroid, so memory and time
    /// stay O(sample · features) besides one pass over the users.
    /// </summary>
    public SegmentModel Build(IReadOnlyList<SegmentInput> users, CatalogSnapshot catalog, DateTimeOffset computedAt)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentNullException.ThrowIfNull(catalog);
        var problems = _options.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        var ordered = users.OrderBy(p => p.UserId, StringComparer.Ordinal).ToList();
        var n = ordered.Count;
        var categories = UserFeatureSchema.TopCategoriesByReach(ordered.Select(u => u.RootShares.Select(r => r.Key)), _options.MaxCategories)
            .Order(StringComparer.Ordinal).ToList();
        var embeddingLength = ordered.Count > 0 && ordered.All(p => p.Embedding is { Length: > 0 } e && e.Length == ordered[0].Embedding!.Length)
            ? ordered[0].Embedding!.Length : 0;
        var names = Traits.Select(t => t.Name).Concat(categories.Select(c => "share[" + c + "]"))
            .Concat(Enumerable.Range(0, embeddingLength).Select(i => $"embedding[{i}]")).ToList();
        var d = names.Count;
        var categoryIndex = categories.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => Traits.Length + p.i, StringComparer.Ordinal);

        // The rows the fit sees: every user, or a seeded sample in user order.
        int[] fitRows;
        if (n <= _options.MaxFitUsers) fitRows = [.. Enumerable.Range(0, n)];
        else
        {
            var all = Enumerable.Range(0, n).ToArray();
            new Random(_options.Seed).Shuffle(all);
            fitRows = all[.._options.MaxFitUsers];
            Array.Sort(fitRows);
        }
        var m = fitRows.Length;
        var raw = new double[m * d]; // (m, d)
        Parallel.For(0, m, i => Row(ordered[fitRows[i]], categoryIndex, embeddingLength, raw.AsSpan(i * d, d)));
        var standardizer = Standardizer.Fit(raw, m, d);
        var z = standardizer.Transform(raw, m); // (m, d)
        raw = [];
        var embeddingWeight = embeddingLength > 0 ? Math.Sqrt(2.0 / embeddingLength) : 1;
        if (embeddingLength > 0)
            for (var i = 0; i < m; i++)
                for (var j = d - embeddingLength; j < d; j++) z[i * d + j] *= embeddingWeight;

        var (k, silhouette, byK) = ChooseK(z, m, d);
        var fit = KMeans.Fit(z, m, d, k, _options.Seed);
        var components = Pca.Fit(z, m, d); // (2, d)

        // Every user's segment, distance to its centroid and map position: from the fit's own rows when it saw everyone.
        var assignment = new int[n];
        var distances = new double[n];
        var points = new (double X, double Y)[n];
        Parallel.For(0, n, () => (Raw: new double[d], Z: new double[d]), (i, _, scratch) =>
        {
            ReadOnlySpan<double> row;
            int c;
            if (m == n)
            {
                row = z.AsSpan(i * d, d);
                c = fit.Assignments[i];
            }
            else
            {
                Array.Clear(scratch.Raw);
                Row(ordered[i], categoryIndex, embeddingLength, scratch.Raw);
                standardizer.TransformRow(scratch.Raw, scratch.Z);
                for (var j = d - embeddingLength; j < d; j++) scratch.Z[j] *= embeddingWeight;
                row = scratch.Z;
                c = KMeans.Nearest(row, fit.Centroids, k, d).Cluster;
            }
            assignment[i] = c;
            distances[i] = Math.Sqrt(KMeans.SquaredDistance(row, fit.Centroid(c)));
            double px = 0, py = 0;
            for (var j = 0; j < d; j++)
            {
                px += row[j] * components[j];
                py += row[j] * components[d + j];
            }
            points[i] = (px, py);
            return scratch;
        }, _ => { });
        var sizes = new int[k];
        foreach (var c in assignment) sizes[c]++;

        var labels = new (string En, string Zh)[k];
        for (var c = 0; c < k; c++) labels[c] = Label(fit.Centroid(c), categories, catalog);
        // Stable ids: biggest segment first, ties by label.
        var order = Enumerable.Range(0, k).OrderByDescending(c => sizes[c]).ThenBy(c => labels[c].En, StringComparer.Ordinal).ToArray();
        var idOf = new string[k];
        var infos = new List<SegmentInfo>(k);
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var c in order)
        {
            idOf[c] = $"seg-{infos.Count + 1}";
            var (en, zh) = labels[c];
            var count = seen[en] = seen.GetValueOrDefault(en) + 1;
            if (count > 1) (en, zh) = ($"{en} ({count})", $"{zh}（{count}）");
            labels[c] = (en, zh);
            var centroid = new Dictionary<string, double>(StringComparer.Ordinal);
            for (var j = 0; j < Math.Min(d, Traits.Length + categories.Count); j++) centroid[names[j]] = Math.Round(fit.Centroids[c * d + j], 3);
            infos.Add(new SegmentInfo(idOf[c], en, zh, sizes[c], n == 0 ? 0 : Math.Round(sizes[c] / (double)n, 4), centroid));
        }

        var members = new Dictionary<string, SegmentMembership>(n, StringComparer.Ordinal);
        var projection = new ProjectedUser[n];
        for (var i = 0; i < n; i++)
        {
            var c = assignment[i];
            members[ordered[i].UserId] = new SegmentMembership(idOf[c], labels[c].En, labels[c].Zh, Math.Round(distances[i], 4));
            projection[i] = new ProjectedUser(ordered[i].UserId, idOf[c], Math.Round(points[i].X, 4), Math.Round(points[i].Y, 4));
        }

        return new SegmentModel
        {
            Version = $"segments-{computedAt.UtcDateTime:yyyyMMddTHHmmss}-k{k}-s{_options.Seed}",
            ComputedAt = computedAt,
            K = k,
            Silhouette = double.IsFinite(silhouette) ? Math.Round(silhouette, 4) : 0,
            SilhouetteByK = byK,
            Features = names,
            Segments = infos,
            Members = members,
            Projection = projection,
        };
    }

    private (int K, double Silhouette, Dictionary<int, double> ByK) ChooseK(double[] z, int n, int d)
    {
        var byK = new Dictionary<int, double>();
        if (n < 2) return (Math.Max(1, n), double.NaN, byK);
        var sampleRows = Enumerable.Range(0, n).ToArray();
        new Random(_options.Seed).Shuffle(sampleRows);
        var m = Math.Min(n, _options.SilhouetteSample);
        var sample = new double[m * d]; // (m, d)
        for (var r = 0; r < m; r++) z.AsSpan(sampleRows[r] * d, d).CopyTo(sample.AsSpan(r * d, d));
        if (_options.K > 0)
        {
            var k0 = Math.Min(_options.K, n);
            var fixedFit = KMeans.Fit(sample, m, d, Math.Min(k0, m), _options.Seed);
            return (k0, ClusterMetrics.Silhouette(sample, m, d, fixedFit.Assignments, fixedFit.K), byK);
        }
        var bestK = Math.Min(_options.MinK, m);
        var best = double.NegativeInfinity;
        for (var k = _options.MinK; k <= Math.Min(_options.MaxK, m - 1); k++)
        {
            var fit = KMeans.Fit(sample, m, d, k, _options.Seed);
            var s = ClusterMetrics.Silhouette(sample, m, d, fit.Assignments, k);
            byK[k] = Math.Round(s, 4);
            if (s > best + 1e-12)
            {
                best = s;
                bestK = k;
            }
        }
        return (bestK, best, byK);
    }

    private static void Row(SegmentInput user, Dictionary<string, int> categoryIndex, int embeddingLength, Span<double> row)
    {
        user.Traits.CopyTo(row);
        foreach (var (key, share) in user.RootShares)
            if (categoryIndex.TryGetValue(key, out var j)) row[j] = share;
        if (embeddingLength > 0)
            for (var e = 0; e < embeddingLength; e++) row[row.Length - embeddingLength + e] = user.Embedding![e];
    }

    /// <summary>Up to two pronounced traits (|z| ≥ 0.35, strongest first) and the most over-represented category (z ≥ 0.5).</summary>
    internal static (string En, string Zh) Label(ReadOnlySpan<double> centroid, IReadOnlyList<string> categories, CatalogSnapshot catalog)
    {
        var parts = new List<(double Strength, string Zh, string En)>();
        for (var j = 0; j < Traits.Length; j++)
        {
            var (_, highZh, highEn, lowZh, lowEn) = Traits[j];
            var v = centroid[j];
            if (v >= TraitZ) parts.Add((v, highZh, highEn));
            else if (v <= -TraitZ && lowZh is not null) parts.Add((-v, lowZh, lowEn!));
        }
        var chosen = parts.OrderByDescending(p => p.Strength).ThenBy(p => p.En, StringComparer.Ordinal).Take(2).Select(p => (p.Zh, p.En)).ToList();
        var bestCategory = -1;
        var bestZ = 0.5;
        for (var c = 0; c < categories.Count; c++)
        {
            if (centroid[Traits.Length + c] < bestZ) continue;
            bestZ = centroid[Traits.Length + c];
            bestCategory = c;
        }
        if (bestCategory >= 0)
        {
            var (en, zh) = catalog.CategoryLabel(categories[bestCategory]);
            chosen.Add((zh, en));
        }
        if (chosen.Count == 0) chosen.Add(("大众", "mainstream"));
        return (string.Join(" · ", chosen.Select(p => p.En)), string.Join("·", chosen.Select(p => p.Zh)));
    }
}
