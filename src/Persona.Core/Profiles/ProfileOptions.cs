using Persona.Abstractions;

namespace Persona.Core.Profiles;

/// <summary>
/// How profiles are computed: decay, event weights, lifecycle and RFM thresholds, tag limits. Bound from
/// configuration (section <c>Persona:Profiles</c> by convention); treat an instance as immutable once a
/// <see cref="ProfileBook"/> uses it, since states accumulated under one setting cannot be re-weighted.
/// </summary>
/// <remarks>
/// <para><b>Affinity.</b> Each counted event with an item in the catalog adds its type's weight, decayed by
/// <c>2^(-age / HalfLifeDays)</c>, to the item's category at every level of its path, to its brand and to its
/// price band. A <c>rate</c> event's weight is multiplied by <c>(rating - 1) / 2</c> (1 star adds nothing,
/// 3 stars the plain weight, 5 stars double). Searches and impressions weigh 0 by default: searches count as
/// activity only.</para>
/// <para><b>Activity.</b> "Activity events" are counted events of every type but <c>impression</c> (an
/// impression is something the shop showed, not something the user did). First/last seen, active days,
/// the hour and weekday histograms and the lifecycle use activity events only.</para>
/// <para><b>Lifecycle</b> at <c>asOf</c>, first rule that matches: no activity events → <c>new</c>;
/// last activity ≥ <see cref="ChurnedAfterDays"/> ago → <c>churned</c>; first activity &lt;
/// <see cref="NewCustomerDays"/> ago and fewer than <see cref="NewCustomerMaxPurchases"/> purchases →
/// <c>new</c>; last activity ≥ <see cref="AtRiskAfterDays"/> ago, or (at least
/// <see cref="AtRiskMinPriorEvents"/> activity events in the prior window and the daily rate over the last
/// <see cref="AtRiskRecentDays"/> UTC days below <see cref="AtRiskDropRatio"/> × the daily rate over the
/// <see cref="AtRiskPriorDays"/> days before them, counting only days since the first activity) →
/// <c>at_risk</c>; otherwise <c>active</c>.</para>
/// <para><b>Activity level</b>: activity events per week over the last 30 UTC days (including asOf's day):
/// below <see cref="ActivityMidPerWeek"/> low, at least <see cref="ActivityHighPerWeek"/> high, else mid.</para>
/// <para><b>RFM scores</b> (1–5): recency scores 5 down to 2 while days since the last purchase (or last
/// activity when none) are at most each of <see cref="RecencyDaysThresholds"/>, else 1; frequency (purchases)
/// scores 1 plus the number of <see cref="FrequencyThresholds"/> it reaches; monetary (sum of purchase
/// values in the shop's currency) scores 1 plus the number of <see cref="MonetaryThresholds"/> it exceeds.</para>
/// </remarks>
public sealed class ProfileOptions
{
    public const double DefaultHalfLifeDays = 30;
    public const int DefaultNewCustomerDays = 14;
    public const int DefaultNewCustomerMaxPurchases = 2;
    public const int DefaultChurnedAfterDays = 30;
    public const int DefaultAtRiskAfterDays = 14;
    public const int DefaultAtRiskRecentDays = 14;
    public const int DefaultAtRiskPriorDays = 42;
    public const double DefaultAtRiskDropRatio = 0.3;
    public const int DefaultAtRiskMinPriorEvents = 6;
    public const double DefaultActivityMidPerWeek = 3;
    public const double DefaultActivityHighPerWeek = 15;
    public const int DefaultMaxCategoryAffinities = 50;
    public const int DefaultMaxBrandAffinities = 20;
    public const int DefaultMaxCategoryTags = 3;
    public const double DefaultMinCategoryTagShare = 0.2;
    public const double DefaultMinCategoryTagScore = 3;
    public const double DefaultLoyalBrandShare = 0.6;
    public const double DefaultMinBrandTagScore = 10;
    public const int DefaultMaxEvidence = 5;
    public const int DefaultMinPeersForPercentile = 5;
    public const int DefaultMaxTrackedKeys = 16;
    public const int DefaultRecentSteps = 50;
    public const int DefaultSeenItems = 500;
    public const double DefaultPriceSensitiveThreshold = 0.5;
    public const double DefaultMostlyMobileShare = 0.7;
    public const double DefaultNightOwlShare = 0.35;
    public const double DefaultWeekendShopperShare = 0.5;
    public const int DefaultMinEventsForTimeTags = 10;
    public const int DefaultClockQuorum = 20;

    /// <summary>Days after which an event's weight in affinities halves.</summary>
    public double HalfLifeDays { get; set; } = DefaultHalfLifeDays;

    /// <summary>Affinity weight per event type, keyed by wire name; types left out weigh 0.</summary>
    public Dictionary<string, double> EventWeights { get; set; } = DefaultEventWeights();

    /// <summary>
    /// The shop's offset from UTC, used for the night-owl and weekend tags (the histograms in
    /// <see cref="Traits"/> stay in UTC). Whole hours or half hours.
    /// </summary>
    public TimeSpan UtcOffset { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// The shop clock (<see cref="ProfileBook.DataClock"/>) is the newest time that this many shoppers' own newest
    /// events have reached (at most a tenth of the shoppers, at least one), so one shopper's event, however late,
    /// moves it no further than where the others already are.
    /// </summary>
    public int ClockQuorum { get; set; } = DefaultClockQuorum;

    public int NewCustomerDays { get; set; } = DefaultNewCustomerDays;
    public int NewCustomerMaxPurchases { get; set; } = DefaultNewCustomerMaxPurchases;
    public int ChurnedAfterDays { get; set; } = DefaultChurnedAfterDays;
    public int AtRiskAfterDays { get; set; } = DefaultAtRiskAfterDays;
    public int AtRiskRecentDays { get; set; } = DefaultAtRiskRecentDays;
    public int AtRiskPriorDays { get; set; } = DefaultAtRiskPriorDays;
    public double AtRiskDropRatio { get; set; } = DefaultAtRiskDropRatio;
    public int AtRiskMinPriorEvents { get; set; } = DefaultAtRiskMinPriorEvents;

    public double ActivityMidPerWeek { get; set; } = DefaultActivityMidPerWeek;
    public double ActivityHighPerWeek { get; set; } = DefaultActivityHighPerWeek;

    /// <summary>Ascending day limits for recency scores 5, 4, 3, 2.</summary>
    public double[] RecencyDaysThresholds { get; set; } = [7, 30, 90, 180];
    /// <summary>Ascending purchase counts for frequency scores 2, 3, 4, 5.</summary>
    public long[] FrequencyThresholds { get; set; } = [1, 2, 4, 8];
    /// <summary>Ascending amounts (shop currency) that monetary must exceed for scores 2, 3, 4, 5.</summary>
    public double[] MonetaryThresholds { get; set; } = [0, 200, 1000, 5000];

    /// <summary>Most category affinities in a profile (shares are computed before the cut).</summary>
    public int MaxCategoryAffinities { get; set; } = DefaultMaxCategoryAffinities;
    public int MaxBrandAffinities { get; set; } = DefaultMaxBrandAffinities;
    /// <summary>Most "Likes X" category tags.</summary>
    public int MaxCategoryTags { get; set; } = DefaultMaxCategoryTags;
    /// <summary>A category gets a tag when its share among categories of its level reaches this...</summary>
    public double MinCategoryTagShare { get; set; } = DefaultMinCategoryTagShare;
    /// <summary>...and its decayed score reaches this (3 ≈ three fresh views or one fresh favorite).</summary>
    public double MinCategoryTagScore { get; set; } = DefaultMinCategoryTagScore;
    /// <summary>Share of brand affinity the top brand needs for a "Loyal to" tag.</summary>
    public double LoyalBrandShare { get; set; } = DefaultLoyalBrandShare;
    public double MinBrandTagScore { get; set; } = DefaultMinBrandTagScore;
    /// <summary>Event ids kept per affinity key and per tag (most recent by timestamp, then id).</summary>
    public int MaxEvidence { get; set; } = DefaultMaxEvidence;
    /// <summary>Priced items a category needs before an item's price percentile is taken within it (else the parent's).</summary>
    public int MinPeersForPercentile { get; set; } = DefaultMinPeersForPercentile;
    /// <summary>Distinct devices and channels counted per user (the ordinally smallest are kept, so the set does not depend on arrival order).</summary>
    public int MaxTrackedKeys { get; set; } = DefaultMaxTrackedKeys;
    /// <summary>Item steps kept per shopper (<see cref="ShopperSteps"/>): recommendation anchors and the sequence the models encode.</summary>
    public int RecentSteps { get; set; } = DefaultRecentSteps;
    /// <summary>Distinct recent items kept per shopper, for recommendations' <c>excludeSeen</c>.</summary>
    public int SeenItems { get; set; } = DefaultSeenItems;
    public double PriceSensitiveThreshold { get; set; } = DefaultPriceSensitiveThreshold;
    public double MostlyMobileShare { get; set; } = DefaultMostlyMobileShare;
    /// <summary>Share of activity in local hours 22:00–04:59 for the night-owl tag.</summary>
    public double NightOwlShare { get; set; } = DefaultNightOwlShare;
    /// <summary>Share of activity on local Saturdays and Sundays for the weekend-shopper tag.</summary>
    public double WeekendShopperShare { get; set; } = DefaultWeekendShopperShare;
    public int MinEventsForTimeTags { get; set; } = DefaultMinEventsForTimeTags;

    /// <summary>Device names (lower case) that count as mobile.</summary>
    public HashSet<string> MobileDevices { get; set; } =
        new(["mobile", "phone", "smartphone", "tablet", "ios", "android", "app", "wap", "h5", "mini_program", "miniprogram"], StringComparer.Ordinal);

    /// <summary>The defaults: view 1, click 1.5, search 0, add_to_cart 4, favorite 3, purchase 8, rate 3, review 3, impression 0.</summary>
    public static Dictionary<string, double> DefaultEventWeights() => new(StringComparer.Ordinal)
    {
        ["view"] = 1,
        ["click"] = 1.5,
        ["search"] = 0,
        ["add_to_cart"] = 4,
        ["favorite"] = 3,
        ["purchase"] = 8,
        ["rate"] = 3,
        ["review"] = 3,
        ["impression"] = 0,
    };

    /// <summary>The affinity weight of a type (0 when not configured).</summary>
    public double WeightOf(EventType type) =>
        EventWeights.TryGetValue(type.ToWire(), out var w) ? w : 0;

    /// <summary>Decay rate per day: ln 2 / half-life.</summary>
    public double DecayPerDay => Math.Log(2) / HalfLifeDays;

    /// <summary>Every problem with these settings; empty when they are usable.</summary>
    public IReadOnlyList<string> Validate()
    {
        var problems = new List<string>();
        if (!double.IsFinite(HalfLifeDays) || HalfLifeDays <= 0) problems.Add($"{nameof(HalfLifeDays)} must be a positive number.");
        if (EventWeights is null) problems.Add($"{nameof(EventWeights)} must not be null.");
        else
        {
            foreach (var (type, weight) in EventWeights)
            {
                if (!EventTypes.TryParse(type, out _)) problems.Add($"{nameof(EventWeights)} has an unknown event type '{type}'.");
                if (!double.IsFinite(weight) || weight < 0) problems.Add($"{nameof(EventWeights)}[{type}] must be a non-negative number.");
            }
        }
        if (UtcOffset < TimeSpan.FromHours(-14) || UtcOffset > TimeSpan.FromHours(14) || UtcOffset.Ticks % TimeSpan.TicksPerMinute != 0)
            problems.Add($"{nameof(UtcOffset)} must be whole minutes between -14 and +14 hours.");
        if (ClockQuorum < 1) problems.Add($"{nameof(ClockQuorum)} must be at least 1.");
        if (NewCustomerDays < 0) problems.Add($"{nameof(NewCustomerDays)} must not be negative.");
        if (NewCustomerMaxPurchases < 0) problems.Add($"{nameof(NewCustomerMaxPurchases)} must not be negative.");
        if (AtRiskAfterDays < 1 || ChurnedAfterDays < AtRiskAfterDays)
            problems.Add($"{nameof(AtRiskAfterDays)} must be at least 1 and at most {nameof(ChurnedAfterDays)}.");
        if (AtRiskRecentDays < 1 || AtRiskPriorDays < 1 || AtRiskRecentDays + AtRiskPriorDays > ProfileState.RecentWindowDays - 7)
            problems.Add($"{nameof(AtRiskRecentDays)} and {nameof(AtRiskPriorDays)} must be positive and together at most {ProfileState.RecentWindowDays - 7}.");
        if (!double.IsFinite(AtRiskDropRatio) || AtRiskDropRatio < 0 || AtRiskDropRatio > 1) problems.Add($"{nameof(AtRiskDropRatio)} must be within 0..1.");
        if (AtRiskMinPriorEvents < 1) problems.Add($"{nameof(AtRiskMinPriorEvents)} must be at least 1.");
        if (!(ActivityMidPerWeek >= 0 && ActivityHighPerWeek >= ActivityMidPerWeek))
            problems.Add($"{nameof(ActivityMidPerWeek)} must be non-negative and at most {nameof(ActivityHighPerWeek)}.");
        CheckAscending(problems, nameof(RecencyDaysThresholds), RecencyDaysThresholds?.Select(x => x).ToArray());
        CheckAscending(problems, nameof(FrequencyThresholds), FrequencyThresholds?.Select(x => (double)x).ToArray());
        CheckAscending(problems, nameof(MonetaryThresholds), MonetaryThresholds?.Select(x => x).ToArray());
        if (MaxCategoryAffinities < 1 || MaxBrandAffinities < 1) problems.Add("The affinity limits must be at least 1.");
        if (MaxCategoryTags < 0) problems.Add($"{nameof(MaxCategoryTags)} must not be negative.");
        if (MaxEvidence < 1) problems.Add($"{nameof(MaxEvidence)} must be at least 1.");
        if (MinPeersForPercentile < 1) problems.Add($"{nameof(MinPeersForPercentile)} must be at least 1.");
        if (MaxTrackedKeys < 1) problems.Add($"{nameof(MaxTrackedKeys)} must be at least 1.");
        if (RecentSteps is < 1 or > 1000) problems.Add($"{nameof(RecentSteps)} must be between 1 and 1000.");
        if (SeenItems is < 1 or > 100_000) problems.Add($"{nameof(SeenItems)} must be between 1 and 100000.");
        foreach (var (name, share) in new[]
                 {
                     (nameof(MinCategoryTagShare), MinCategoryTagShare), (nameof(LoyalBrandShare), LoyalBrandShare),
                     (nameof(PriceSensitiveThreshold), PriceSensitiveThreshold), (nameof(MostlyMobileShare), MostlyMobileShare),
                     (nameof(NightOwlShare), NightOwlShare), (nameof(WeekendShopperShare), WeekendShopperShare),
                 })
        {
            if (!(share >= 0 && share <= 1)) problems.Add($"{name} must be within 0..1.");
        }
        if (MobileDevices is null) problems.Add($"{nameof(MobileDevices)} must not be null.");
        return problems;
    }

    private static void CheckAscending(List<string> problems, string name, double[]? values)
    {
        if (values is not { Length: 4 } || values.Any(v => !double.IsFinite(v)))
        {
            problems.Add($"{name} must hold 4 finite numbers.");
            return;
        }
        for (var i = 1; i < values.Length; i++)
        {
            if (values[i] < values[i - 1])
            {
                problems.Add($"{name} must be ascending.");
                return;
            }
        }
    }
}
