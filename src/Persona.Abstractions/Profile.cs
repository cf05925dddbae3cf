namespace Persona.Abstractions;

/// <summary>
/// A user's profile (用户画像): traits, time-decayed affinities, readable tags with evidence, and the parts
/// that models fill in (embedding, predictions, segment). <see cref="Version"/> grows with every change.
/// </summary>
public sealed record Profile
{
    public required string UserId { get; init; }
    public long Version { get; init; }
    public DateTimeOffset UpdatedAt { get; init; }
    /// <summary>The instant decays and lifecycle were computed against (the data clock by default).</summary>
    public DateTimeOffset AsOf { get; init; }
    /// <summary>Events that count toward the profile (bursts and other exclusions left out).</summary>
    public long EventCount { get; init; }
    public required Traits Traits { get; init; }
    public required Affinities Affinities { get; init; }
    public IReadOnlyList<Tag> Tags { get; init; } = [];
    /// <summary>The sequence model's user vector, when a model has been trained.</summary>
    public float[]? Embedding { get; init; }
    public string? EmbeddingModelVersion { get; init; }
    public Predictions? Predictions { get; init; }
    public SegmentMembership? Segment { get; init; }
    /// <summary>A short narrative of the tags in English and Chinese, from the chat model or its template (docs/generative.md); null where not asked for.</summary>
    public ProfileSummary? Summary { get; init; }
}

/// <summary>
/// A profile's summary: a few sentences per language, each traceable to a tag the profile holds (<see cref="Claims"/>).
/// </summary>
public sealed record ProfileSummary
{
    public required string En { get; init; }
    public required string Zh { get; init; }
    /// <summary><c>model</c> (the chat endpoint wrote it and it passed the checks) or <c>template</c>.</summary>
    public required string Source { get; init; }
    /// <summary>The model that wrote it; null for the template.</summary>
    public string? Model { get; init; }
    /// <summary>The shopper's summary version: grows with every model summary stored for them; 0 for the template.</summary>
    public int Version { get; init; }
    /// <summary>The tag keys the sentences rest on.</summary>
    public IReadOnlyList<string> Claims { get; init; } = [];
    public DateTimeOffset? GeneratedAt { get; init; }
    /// <summary>A model summary of the profile as it is now is queued: this one is the template or an older summary.</summary>
    public bool Pending { get; init; }
}

public static class LifecycleStages
{
    public const string New = "new";
    public const string Active = "active";
    public const string AtRisk = "at_risk";
    public const string Churned = "churned";
}

public static class Tiers
{
    public const string Low = "low";
    public const string Mid = "mid";
    public const string High = "high";
}

public sealed record Traits
{
    public DateTimeOffset? FirstSeen { get; init; }
    public DateTimeOffset? LastSeen { get; init; }
    public DateTimeOffset? LastPurchase { get; init; }
    public required Rfm Rfm { get; init; }
    /// <summary>Counted events per active day over the user's lifetime.</summary>
    public double EventsPerActiveDay { get; init; }
    public int ActiveDays { get; init; }
    /// <summary><c>low</c>, <c>mid</c> or <c>high</c>, from events per week over the last 30 days.</summary>
    public string ActivityLevel { get; init; } = Tiers.Low;
    /// <summary>One of <see cref="LifecycleStages"/>.</summary>
    public string Lifecycle { get; init; } = LifecycleStages.New;
    /// <summary><c>low</c>, <c>mid</c> or <c>high</c>, from the price percentile within category of what the user buys (or carts).</summary>
    public string? PurchasingPowerTier { get; init; }
    /// <summary>Mean price percentile (0..1) within category of the items behind the tier.</summary>
    public double? PricePercentile { get; init; }
    /// <summary>0 (indifferent) .. 1 (very sensitive): how much cheaper than what they browse the user buys.</summary>
    public double? PriceSensitivity { get; init; }
    /// <summary>Share of counted events per hour of day (UTC, 24 entries).</summary>
    public IReadOnlyList<double> HourHistogram { get; init; } = [];
    /// <summary>Share of counted events per weekday (Monday first, 7 entries).</summary>
    public IReadOnlyList<double> WeekdayHistogram { get; init; } = [];
    /// <summary>Hours of day holding the most activity, most active first.</summary>
    public IReadOnlyList<int> ActiveHours { get; init; } = [];
    public IReadOnlyList<DayOfWeek> ActiveWeekdays { get; init; } = [];
    public string? PreferredDevice { get; init; }
    public string? PreferredChannel { get; init; }
    public IReadOnlyDictionary<string, long> EventTypeCounts { get; init; } = new Dictionary<string, long>();
}

/// <summary>Recency (days since last purchase, or last event when none), frequency (purchases), monetary (spent).</summary>
public sealed record Rfm(double RecencyDays, long Frequency, double Monetary, int RecencyScore, int FrequencyScore, int MonetaryScore);

public sealed record Affinities
{
    /// <summary>Category affinities at every level of the path, highest first.</summary>
    public IReadOnlyList<Affinity> Categories { get; init; } = [];
    public IReadOnlyList<Affinity> Brands { get; init; } = [];
    public IReadOnlyList<Affinity> PriceBands { get; init; } = [];
}

/// <summary>
/// A time-decayed affinity. <see cref="Score"/> is the decayed weighted count at <see cref="Profile.AsOf"/>;
/// <see cref="Share"/> is its share among siblings of the same kind and level (0..1).
/// </summary>
public sealed record Affinity(string Key, string LabelEn, string LabelZh, int Level, double Score, double Share);

/// <summary>
/// A readable statement about the user, in Chinese and English, with how sure we are and the events
/// that support it.
/// </summary>
public sealed record Tag
{
    /// <summary>Stable key, e.g. <c>category:Beauty &gt; Makeup</c> or <c>lifecycle:churned</c>.</summary>
    public required string Key { get; init; }
    /// <summary>What the tag is about: <c>category</c>, <c>brand</c>, <c>price</c>, <c>lifecycle</c>, <c>activity</c>, <c>time</c>, <c>value</c>, <c>device</c>.</summary>
    public required string Kind { get; init; }
    public required string LabelEn { get; init; }
    public required string LabelZh { get; init; }
    /// <summary>0..1.</summary>
    public double Confidence { get; init; }
    /// <summary>Ids of (up to a few recent) events that support the tag.</summary>
    public IReadOnlyList<string> EvidenceEventIds { get; init; } = [];
}

public sealed record Predictions
{
    public string? ModelVersion { get; init; }
    public DateTimeOffset ComputedAt { get; init; }
    public double? PurchasePropensity { get; init; }
    public double? ChurnRisk { get; init; }
    public IReadOnlyDictionary<string, double> CategoryPropensity { get; init; } = new Dictionary<string, double>();
    public IReadOnlyList<ScoredKey> NextCategories { get; init; } = [];
    /// <summary>Expected purchases per top-level category in the next period.</summary>
    public IReadOnlyDictionary<string, double> CategoryDemand { get; init; } = new Dictionary<string, double>();
}

public sealed record ScoredKey(string Key, double Score);

public sealed record SegmentMembership(string SegmentId, string LabelEn, string LabelZh, double Distance);
