using Persona.Abstractions;

namespace Persona.Core.Features;

/// <summary>
/// The numeric view of a profile that propensity models and segments learn from: recency, frequency and
/// spend, rhythm, lifecycle, price position, event mix and per top-level category affinity. The same code
/// serves training (profiles rebuilt as of a past cut-off) and scoring (live profiles), so they cannot drift.
/// </summary>
public sealed class UserFeatureSchema
{
    private static readonly EventType[] CountedTypes = [EventType.View, EventType.Click, EventType.Search, EventType.AddToCart, EventType.Favorite, EventType.Purchase];
    private static readonly string[] Lifecycles = [LifecycleStages.New, LifecycleStages.Active, LifecycleStages.AtRisk, LifecycleStages.Churned];
    private const double NeverDays = 365;

    private readonly Dictionary<string, int> _categoryIndex;
    private readonly int _categoryOffset;

    /// <summary>A schema over the given top-level category keys (sorted, so the layout is stable).</summary>
    public UserFeatureSchema(IEnumerable<string> topCategories)
    {
        TopCategories = [.. topCategories.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
        var names = new List<string>
        {
            "days_since_last_seen", "days_since_first_seen", "days_since_last_purchase", "has_purchased",
            "purchases", "monetary", "events", "events_per_active_day", "active_days", "active_day_ratio",
            "activity_level", "price_percentile", "price_sensitivity",
        };
        names.AddRange(Lifecycles.Select(l => "lifecycle_" + l));
        names.AddRange(CountedTypes.Select(t => "count_" + t.ToWire()));
        names.AddRange(["purchases_per_week", "events_per_day", "events_1d", "events_7d", "events_14d", "events_28d",
            "active_days_7d", "active_days_28d", "purchases_14d", "purchases_28d", "carts_7d", "carts_28d", "trend_7d_vs_28d",
            "purchases_per_view", "carts_per_view", "expected_purchases_per_week"]);
        _categoryOffset = names.Count;
        foreach (var c in TopCategories)
        {
            names.Add($"affinity[{c}]");
            names.Add($"share[{c}]");
        }
        Names = names;
        _categoryIndex = TopCategories.Select((c, i) => (c, i)).ToDictionary(p => p.c, p => p.i, StringComparer.Ordinal);
    }

    /// <summary>The default cap on per-category features: shops with a flat list of thousands of category ids keep the most reached.</summary>
    public const int DefaultMaxCategories = 24;

    /// <summary>The schema over the root categories that reach the most of <paramref name="profiles"/> (at most <paramref name="maxCategories"/>).</summary>
    public static UserFeatureSchema For(IEnumerable<Profile> profiles, int maxCategories = DefaultMaxCategories) =>
        new(TopCategoriesByReach(profiles, maxCategories));

    /// <summary>Root category keys by the number of profiles with an affinity to them, most first (ties by key).</summary>
    public static IReadOnlyList<string> TopCategoriesByReach(IEnumerable<Profile> profiles, int max)
    {
        ArgumentNullException.ThrowIfNull(profiles);
        return TopCategoriesByReach(profiles.Select(p => p.Affinities.Categories.Where(a => a.Level == 1).Select(a => a.Key)), max);
    }

    /// <summary>As <see cref="TopCategoriesByReach(IEnumerable{Profile}, int)"/>, from each user's root category keys.</summary>
    public static IReadOnlyList<string> TopCategoriesByReach(IEnumerable<IEnumerable<string>> rootsPerUser, int max)
    {
        ArgumentNullException.ThrowIfNull(rootsPerUser);
        var reach = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var roots in rootsPerUser)
            foreach (var key in roots) reach[key] = reach.GetValueOrDefault(key) + 1;
        return [.. reach.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(max).Select(kv => kv.Key)];
    }

    public IReadOnlyList<string> TopCategories { get; }
    public IReadOnlyList<string> Names { get; }
    public int Count => Names.Count;

    /// <summary>Index of the affinity feature of a top-level category (its share follows it).</summary>
    public int CategoryFeature(string topCategory) => _categoryOffset + 2 * _categoryIndex[topCategory];

    /// <summary>
    /// Writes the profile's features into <paramref name="row"/> (length <see cref="Count"/>), as of
    /// <see cref="Profile.AsOf"/>; <paramref name="recent"/> holds the last days' counts (empty: none).
    /// </summary>
    public void Extract(Profile profile, RecentActivity recent, Span<double> row)
    {
        ArgumentNullException.ThrowIfNull(recent);
        ArgumentNullException.ThrowIfNull(profile);
        if (row.Length != Count) throw new ArgumentException($"Expected {Count} columns.", nameof(row));
        row.Clear();
        var t = profile.Traits;
        var asOf = profile.AsOf;
        var k = 0;
        row[k++] = Log1pDays(asOf, t.LastSeen);
        row[k++] = Log1pDays(asOf, t.FirstSeen);
        row[k++] = Log1pDays(asOf, t.LastPurchase);
        row[k++] = t.LastPurchase is null ? 0 : 1;
        row[k++] = Math.Log(1 + t.Rfm.Frequency);
        row[k++] = Math.Log(1 + Math.Max(0, t.Rfm.Monetary));
        row[k++] = Math.Log(1 + profile.EventCount);
        row[k++] = Math.Log(1 + t.EventsPerActiveDay);
        row[k++] = Math.Log(1 + t.ActiveDays);
        var span = t.FirstSeen is { } first ? Math.Max(1, (asOf - first).TotalDays) : 1;
        row[k++] = Math.Min(1, t.ActiveDays / span);
        row[k++] = t.ActivityLevel switch { Tiers.High => 2, Tiers.Mid => 1, _ => 0 };
        row[k++] = t.PricePercentile ?? 0.5;
        row[k++] = t.PriceSensitivity ?? 0;
        foreach (var stage in Lifecycles) row[k++] = t.Lifecycle == stage ? 1 : 0;
        foreach (var type in CountedTypes) row[k++] = Math.Log(1 + t.EventTypeCounts.GetValueOrDefault(type.ToWire()));
        row[k++] = Math.Log(1 + 7 * t.Rfm.Frequency / span);
        row[k++] = Math.Log(1 + profile.EventCount / span);
        row[k++] = Math.Log(1 + recent.Events(1));
        row[k++] = Math.Log(1 + recent.Events(7));
        row[k++] = Math.Log(1 + recent.Events(14));
        row[k++] = Math.Log(1 + recent.Events(28));
        row[k++] = recent.ActiveDays(7);
        row[k++] = recent.ActiveDays(28);
        row[k++] = Math.Log(1 + recent.Purchases(14));
        row[k++] = Math.Log(1 + recent.Purchases(28));
        row[k++] = Math.Log(1 + recent.Carts(7));
        row[k++] = Math.Log(1 + recent.Carts(28));
        row[k++] = (recent.Events(7) + 1.0) / (recent.Events(28) / 4.0 + 1.0);
        var views = t.EventTypeCounts.GetValueOrDefault(EventType.View.ToWire());
        var conversion = (t.Rfm.Frequency + 0.5) / (views + 5.0);
        row[k++] = conversion;
        row[k++] = (t.EventTypeCounts.GetValueOrDefault(EventType.AddToCart.ToWire()) + 0.5) / (views + 5.0);
        // Recent browsing times the user's own conversion: the expected purchases if the rhythm holds.
        row[k++] = Math.Log(1 + recent.Events(28) / 4.0 * conversion);
        foreach (var a in profile.Affinities.Categories)
        {
            if (a.Level != 1 || !_categoryIndex.TryGetValue(a.Key, out var c)) continue;
            row[_categoryOffset + 2 * c] = Math.Log(1 + a.Score);
            row[_categoryOffset + 2 * c + 1] = a.Share;
        }
    }

    public double[] Extract(Profile profile, RecentActivity recent)
    {
        var row = new double[Count];
        Extract(profile, recent, row);
        return row;
    }

    private static double Log1pDays(DateTimeOffset asOf, DateTimeOffset? at) =>
        Math.Log(1 + (at is { } v ? Math.Clamp((asOf - v).TotalDays, 0, NeverDays) : NeverDays));
}
