using Persona.Core.Retrieval;

namespace Persona.Core.Ranking;

/// <summary>Recommendation settings; bound from <c>Persona:Recommendations</c> by the host.</summary>
public sealed class RecommendationOptions
{
    public const string SectionName = "Persona:Recommendations";
    public const int DefaultCount = 10;
    public const int DefaultMaxCount = 100;
    public const int DefaultCandidatesPerSource = 200;
    public const int DefaultAnchorItems = 10;
    public const double DefaultAnchorDecay = 0.8;
    public const double DefaultPopularityHalfLifeDays = PopularityIndex.DefaultHalfLifeDays;
    public const double DefaultModelWeight = 1.0;
    public const double DefaultCoOccurrenceWeight = 0.8;
    public const double DefaultAffinityWeight = 0.4;
    public const double DefaultPopularityWeight = 0.2;
    public const double DefaultSegmentWeight = 0.3;
    public const double DefaultTextWeight = 0.5;
    public const int DefaultMmrPoolFactor = 4;
    public const int DefaultPopularityRefreshMilliseconds = 1000;
    public const int DefaultCacheSeconds = 300;
    public const int DefaultCacheUsers = 50_000;
    public const int DefaultWarmUsers = 20_000;

    /// <summary>Results when the caller does not say.</summary>
    public int DefaultN { get; set; } = DefaultCount;
    /// <summary>Upper bound of <c>n</c>.</summary>
    public int MaxN { get; set; } = DefaultMaxCount;
    /// <summary>Most candidates one source (vector index, co-occurrence per anchor, popularity) contributes; requests use max(50, 2 · n · MmrPoolFactor) up to this.</summary>
    public int CandidatesPerSource { get; set; } = DefaultCandidatesPerSource;
    /// <summary>The user's most recent distinct items whose followers become candidates.</summary>
    public int AnchorItems { get; set; } = DefaultAnchorItems;
    /// <summary>Weight of the r-th most recent anchor: decay^r.</summary>
    public double AnchorDecay { get; set; } = DefaultAnchorDecay;
    public double PopularityHalfLifeDays { get; set; } = DefaultPopularityHalfLifeDays;
    /// <summary>
    /// Popularity rankings are re-sorted at most this often while events arrive (0: on every change). Popularity
    /// is a slow signal; what a user just did reaches their next request through co-occurrence and the model.
    /// </summary>
    public int PopularityRefreshMilliseconds { get; set; } = DefaultPopularityRefreshMilliseconds;
    public double ModelWeight { get; set; } = DefaultModelWeight;
    public double CoOccurrenceWeight { get; set; } = DefaultCoOccurrenceWeight;
    public double AffinityWeight { get; set; } = DefaultAffinityWeight;
    public double PopularityWeight { get; set; } = DefaultPopularityWeight;
    /// <summary>Weight of popularity among shoppers who share the user's attributes (age band, gender, region).</summary>
    public double SegmentWeight { get; set; } = DefaultSegmentWeight;
    /// <summary>
    /// Weight of text similarity (cosine of the text encoder's vectors) among similar items. Below the model's, which
    /// knows what shoppers do; for an item no one has touched yet it is, with its category's popular items, all there is.
    /// </summary>
    public double TextWeight { get; set; } = DefaultTextWeight;
    /// <summary>
    /// Show one item per product group, the best-scored variant (<see cref="ProductGroups"/>: the shop's <c>group_id</c>,
    /// else the title without its colour and size), in recommendations and similar items; a request may say otherwise.
    /// </summary>
    public bool CollapseVariants { get; set; } = true;
    /// <summary>MMR re-ranks the best n × this many candidates.</summary>
    public int MmrPoolFactor { get; set; } = DefaultMmrPoolFactor;
    /// <summary>
    /// How long an answer may be served again while the user's own behaviour, the catalog and the model are unchanged
    /// (0: never cached). Bounds how late other shoppers' activity (co-occurrence, popularity) reaches a user's list.
    /// </summary>
    public int CacheSeconds { get; set; } = DefaultCacheSeconds;
    /// <summary>Users whose answers the cache holds at most.</summary>
    public int CacheUsers { get; set; } = DefaultCacheUsers;
    /// <summary>
    /// After start and whenever a new model comes into service, the default list (n = <see cref="DefaultN"/>, no
    /// filters) of this many of the most recently active users is computed in the background, so their first
    /// requests are answered from the cache instead of all computing at once (0: off; needs the cache).
    /// </summary>
    public int WarmUsers { get; set; } = DefaultWarmUsers;

    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (DefaultN < 1 || DefaultN > MaxN) problems.Add("DefaultN must be between 1 and MaxN.");
        if (MaxN is < 1 or > 1000) problems.Add("MaxN must be between 1 and 1000.");
        if (CandidatesPerSource is < 10 or > 10_000) problems.Add("CandidatesPerSource must be between 10 and 10000.");
        if (AnchorItems is < 1 or > 100) problems.Add("AnchorItems must be between 1 and 100.");
        if (!(AnchorDecay is > 0 and <= 1)) problems.Add("AnchorDecay must be in (0, 1].");
        if (!(PopularityHalfLifeDays is > 0 and <= 36_500)) problems.Add("PopularityHalfLifeDays must be in (0, 36500].");
        foreach (var (name, weight) in new[] { ("ModelWeight", ModelWeight), ("CoOccurrenceWeight", CoOccurrenceWeight), ("AffinityWeight", AffinityWeight), ("PopularityWeight", PopularityWeight), ("SegmentWeight", SegmentWeight), ("TextWeight", TextWeight) })
            if (!(weight is >= 0 and <= 100)) problems.Add($"{name} must be between 0 and 100.");
        if (PopularityRefreshMilliseconds is < 0 or > 3_600_000) problems.Add("PopularityRefreshMilliseconds must be between 0 and 3600000.");
        if (MmrPoolFactor is < 1 or > 20) problems.Add("MmrPoolFactor must be between 1 and 20.");
        if (CacheSeconds is < 0 or > 86_400) problems.Add("CacheSeconds must be between 0 and 86400.");
        if (CacheUsers is < 2 or > 10_000_000) problems.Add("CacheUsers must be between 2 and 10000000.");
        if (WarmUsers < 0 || WarmUsers > CacheUsers) problems.Add("WarmUsers must be between 0 and CacheUsers.");
        return problems;
    }
}
