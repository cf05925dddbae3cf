using Persona.Abstractions;

namespace Persona.Core.Profiles;

/// <summary>
/// Turns a <see cref="ProfileState"/> into a <see cref="Profile"/>: traits, affinities decayed to
/// <c>asOf</c> and readable bilingual tags with confidence and evidence. Pure and thread-safe (the caller
/// keeps the state from changing while it builds; <see cref="ProfileBook"/> does).
/// </summary>
/// <remarks>
/// <para><b>Purchasing power</b>: the mean price percentile (within the item's category, see
/// <see cref="CatalogSnapshot.PricePercentile(CatalogItem, int)"/>) of purchased items; without purchases,
/// of carted and favourited items; without those, of viewed and clicked items. Below 0.34 is <c>low</c>,
/// above 0.66 <c>high</c>, else <c>mid</c>. Tag confidence falls from purchases (×1) to carts (×0.7) to
/// views (×0.4) and grows with the number of items up to 3.</para>
/// <para><b>Price sensitivity</b> = clamp(2 × (mean percentile of viewed items − mean percentile of
/// purchased, else carted, items), 0, 1), once there are at least 3 priced views: 0 when the user buys
/// what they browse or dearer, 1 when they buy half the catalog's price range below it.</para>
/// <para><b>Price bands</b> are within-category percentile terciles: low &lt; 1/3 ≤ mid ≤ 2/3 &lt; high.</para>
/// <para><b>Tags</b> (keys are stable): <c>category:&lt;path key&gt;</c> "偏好 X / Likes X" for up to
/// <see cref="ProfileOptions.MaxCategoryTags"/> categories whose share among their level reaches
/// <see cref="ProfileOptions.MinCategoryTagShare"/> and score reaches
/// <see cref="ProfileOptions.MinCategoryTagScore"/>, a parent left out when one child candidate holds 70% of
/// its score (the child says it more precisely); <c>brand:&lt;name&gt;</c> "忠于 X / Loyal to X" when the
/// top brand holds <see cref="ProfileOptions.LoyalBrandShare"/>; <c>price:high_power</c>,
/// <c>price:budget</c>, <c>price:sensitive</c>; <c>lifecycle:new</c>, <c>lifecycle:at_risk</c>,
/// <c>lifecycle:churned</c>; <c>value:high</c> (recency score ≥ 3, frequency and monetary scores ≥ 4);
/// <c>activity:high</c>; <c>time:night_owl</c> and <c>time:weekend</c> (shop-local time, at least
/// <see cref="ProfileOptions.MinEventsForTimeTags"/> activity events); <c>device:mobile</c> (at least 5
/// events with a device). Tags are sorted by confidence, then key; each carries up to
/// <see cref="ProfileOptions.MaxEvidence"/> supporting event ids, newest first.</para>
/// </remarks>
public sealed class ProfileBuilder(ProfileOptions options)
{
    private const double ChildCoversParent = 0.7;
    private const int MinDeviceEvents = 5;
    private const int MinPricedViewsForSensitivity = 3;
    private const int ActivityWindowDays = 30;

    private readonly ProfileOptions _options = options ?? throw new ArgumentNullException(nameof(options));

    /// <summary>
    /// Builds the profile of <paramref name="userId"/> as of <paramref name="asOf"/> (decays and lifecycle are
    /// computed against it; it should not lie before the user's newest event: an affinity whose newest event
    /// lies after it keeps its value at that event). <see cref="Profile.UpdatedAt"/> is the newest received time among the applied events (else
    /// the newest timestamp, else <paramref name="asOf"/>), so building twice gives equal profiles.
    /// </summary>
    public Profile Build(string userId, ProfileState state, CatalogSnapshot catalog, DateTimeOffset asOf, long version)
    {
        ArgumentException.ThrowIfNullOrEmpty(userId);
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(catalog);
        var asOfTicks = asOf.UtcTicks;
        var lambda = _options.DecayPerDay;

        var categories = BuildAffinities(state.CategoryScores, catalog.CategoryLabel, asOfTicks, lambda, _options.MaxCategoryAffinities);
        var brands = BuildAffinities(state.BrandScores, catalog.BrandLabel, asOfTicks, lambda, _options.MaxBrandAffinities);
        var bandScores = new Dictionary<string, DecayedScore>(StringComparer.Ordinal);
        for (var i = 0; i < state.BandScores.Count; i++)
        {
            if (state.BandScores[i] is { } band) bandScores[ProfileState.BandNames[i]] = band;
        }
        var bands = BuildAffinities(bandScores, BandLabel, asOfTicks, lambda, 3);

        var lifecycle = Lifecycle(state, asOfTicks);
        var rfm = Rfm(state, asOfTicks);
        var price = Price(state);
        var perWeek = ActivityPerWeek(state, asOfTicks);
        var activityLevel = perWeek >= _options.ActivityHighPerWeek ? Tiers.High
            : perWeek >= _options.ActivityMidPerWeek ? Tiers.Mid : Tiers.Low;

        var traits = new Traits
        {
            FirstSeen = state.FirstSeen,
            LastSeen = state.LastSeen,
            LastPurchase = state.LastPurchase,
            Rfm = rfm,
            EventsPerActiveDay = state.ActiveDays == 0 ? 0 : (double)state.ActivityEvents / state.ActiveDays,
            ActiveDays = state.ActiveDays,
            ActivityLevel = activityLevel,
            Lifecycle = lifecycle.Stage,
            PurchasingPowerTier = price.Tier,
            PricePercentile = price.Percentile,
            PriceSensitivity = price.Sensitivity,
            HourHistogram = Shares(state.Hours, state.ActivityEvents),
            WeekdayHistogram = Shares(state.Weekdays, state.ActivityEvents),
            ActiveHours = TopIndices(state.Hours, 3),
            ActiveWeekdays = TopIndices(state.Weekdays, 2).Select(i => (DayOfWeek)((i + 1) % 7)).ToArray(),
            PreferredDevice = state.Devices.Top(),
            PreferredChannel = state.Channels.Top(),
            EventTypeCounts = TypeCounts(state),
        };

        var tags = new List<Tag>();
        CategoryTags(tags, state, categories);
        BrandTag(tags, state, brands);
        PriceTags(tags, state, price);
        LifecycleTags(tags, state, lifecycle);
        ValueTags(tags, state, rfm, lifecycle.Stage, activityLevel, perWeek);
        TimeTags(tags, state);
        tags.Sort((a, b) =>
        {
            var c = Quantize(b.Confidence).CompareTo(Quantize(a.Confidence));
            return c != 0 ? c : string.CompareOrdinal(a.Key, b.Key);
        });

        return new Profile
        {
            UserId = userId,
            Version = version,
            UpdatedAt = state.LatestReceivedAt ?? state.LatestTimestamp ?? asOf,
            AsOf = asOf,
            EventCount = state.CountedEvents,
            Traits = traits,
            Affinities = new Affinities { Categories = categories, Brands = brands, PriceBands = bands },
            Tags = tags,
        };
    }

    /// <summary>English and Chinese labels of a price band key (<c>low</c>, <c>mid</c>, <c>high</c>).</summary>
    public static (string En, string Zh) BandLabel(string band) => band switch
    {
        Tiers.Low => ("Low price", "低价位"),
        Tiers.Mid => ("Mid price", "中价位"),
        Tiers.High => ("High price", "高价位"),
        _ => (band, band),
    };

    private static List<Affinity> BuildAffinities(
        IReadOnlyDictionary<string, DecayedScore> scores, Func<string, (string En, string Zh)> label,
        long asOfTicks, double lambda, int max)
    {
        var values = new List<(string Key, int Level, double Score)>(scores.Count);
        var levelTotals = new Dictionary<int, double>();
        foreach (var (key, score) in scores)
        {
            var value = score.ValueAt(asOfTicks, lambda);
            values.Add((key, score.Level, value));
            levelTotals[score.Level] = levelTotals.GetValueOrDefault(score.Level) + value;
        }
        // Scores equal up to rounding must sort the same whatever order the events came in: compare them on
        // a coarse grid, then by level and key.
        values.Sort((a, b) =>
        {
            var c = Quantize(b.Score).CompareTo(Quantize(a.Score));
            if (c != 0) return c;
            c = a.Level.CompareTo(b.Level);
            return c != 0 ? c : string.CompareOrdinal(a.Key, b.Key);
        });
        var result = new List<Affinity>(Math.Min(max, values.Count));
        foreach (var (key, level, score) in values.Take(max))
        {
            var total = levelTotals[level];
            var (en, zh) = label(key);
            result.Add(new Affinity(key, en, zh, level, score, total > 0 ? score / total : 0));
        }
        return result;
    }

    private sealed record LifecycleResult(string Stage, double Confidence);

    private LifecycleResult Lifecycle(ProfileState state, long asOfTicks)
    {
        if (state.ActivityEvents == 0 || state.LastSeen is not { } last || state.FirstSeen is not { } first)
            return new LifecycleResult(LifecycleStages.New, 1);
        var daysSinceLast = Days(last.UtcTicks, asOfTicks);
        var daysSinceFirst = Days(first.UtcTicks, asOfTicks);
        if (daysSinceLast >= _options.ChurnedAfterDays)
            return new LifecycleResult(LifecycleStages.Churned, Ramp(daysSinceLast, _options.ChurnedAfterDays, 2.0 * _options.ChurnedAfterDays));
        if (daysSinceFirst < _options.NewCustomerDays && state.Purchases < _options.NewCustomerMaxPurchases)
            return new LifecycleResult(LifecycleStages.New, 1);
        if (daysSinceLast >= _options.AtRiskAfterDays)
            return new LifecycleResult(LifecycleStages.AtRisk, Ramp(daysSinceLast, _options.AtRiskAfterDays, _options.ChurnedAfterDays));

        var asOfDay = (int)(asOfTicks / TimeSpan.TicksPerDay);
        var firstDay = (int)(first.UtcTicks / TimeSpan.TicksPerDay);
        var recentFrom = asOfDay - _options.AtRiskRecentDays + 1;
        var priorTo = recentFrom - 1;
        var priorFrom = Math.Max(priorTo - _options.AtRiskPriorDays + 1, firstDay);
        var priorDays = priorTo - priorFrom + 1;
        if (priorDays > 0)
        {
            var prior = state.Recent.Count(priorFrom, priorTo);
            var recent = state.Recent.Count(recentFrom, asOfDay);
            var priorRate = (double)prior / priorDays;
            var recentRate = (double)recent / _options.AtRiskRecentDays;
            if (prior >= _options.AtRiskMinPriorEvents && recentRate < _options.AtRiskDropRatio * priorRate)
                return new LifecycleResult(LifecycleStages.AtRisk, Math.Clamp(1 - recentRate / priorRate, 0.5, 1));
        }
        return new LifecycleResult(LifecycleStages.Active, 1);
    }

    private Rfm Rfm(ProfileState state, long asOfTicks)
    {
        var reference = state.LastPurchase ?? state.LastSeen;
        var recencyDays = reference is { } r ? Math.Max(0, Days(r.UtcTicks, asOfTicks)) : 0;
        var recencyScore = 1;
        if (reference is not null)
        {
            var limits = _options.RecencyDaysThresholds;
            for (var i = 0; i < limits.Length; i++)
            {
                if (recencyDays <= limits[i])
                {
                    recencyScore = 5 - i;
                    break;
                }
            }
        }
        var frequencyScore = 1 + _options.FrequencyThresholds.Count(t => state.Purchases >= t);
        var monetaryScore = 1 + _options.MonetaryThresholds.Count(t => state.Monetary > t);
        return new Rfm(recencyDays, state.Purchases, state.Monetary, recencyScore, frequencyScore, monetaryScore);
    }

    private sealed record PriceResult(
        string? Tier, double? Percentile, double? Sensitivity, double TierConfidence, long TierItems, RecentEvidence? TierEvidence);

    private static PriceResult Price(ProfileState state)
    {
        var (stats, factor, evidence) =
            state.Buy.Count > 0 ? (state.Buy, 1.0, state.BuyEvidence)
            : state.Intent.Count > 0 ? (state.Intent, 0.7, state.IntentEvidence)
            : (state.Browse, 0.4, state.BrowseEvidence);
        string? tier = null;
        double? percentile = stats.Mean;
        if (percentile is { } p) tier = p < 0.34 ? Tiers.Low : p > 0.66 ? Tiers.High : Tiers.Mid;

        double? sensitivity = null;
        var bought = state.Buy.Mean ?? state.Intent.Mean;
        if (bought is { } b && state.Browse.Count >= MinPricedViewsForSensitivity && state.Browse.Mean is { } browsed)
            sensitivity = Math.Clamp(2 * (browsed - b), 0, 1);
        return new PriceResult(tier, percentile, sensitivity, factor * Math.Min(1, stats.Count / 3.0), stats.Count, percentile is null ? null : evidence);
    }

    private double ActivityPerWeek(ProfileState state, long asOfTicks)
    {
        var asOfDay = (int)(asOfTicks / TimeSpan.TicksPerDay);
        return state.Recent.Count(asOfDay - ActivityWindowDays + 1, asOfDay) * 7.0 / ActivityWindowDays;
    }

    private void CategoryTags(List<Tag> tags, ProfileState state, List<Affinity> categories)
    {
        if (_options.MaxCategoryTags == 0) return;
        var candidates = categories
            .Where(a => AtLeast(a.Share, _options.MinCategoryTagShare) && AtLeast(a.Score, _options.MinCategoryTagScore))
            .ToList();
        var chosen = candidates
            .Where(parent => !candidates.Any(child =>
                child.Level == parent.Level + 1
                && child.Key.StartsWith(parent.Key + CategoryPaths.Separator, StringComparison.Ordinal)
                && AtLeast(child.Score, ChildCoversParent * parent.Score)))
            .Take(_options.MaxCategoryTags);
        foreach (var a in chosen)
        {
            tags.Add(new Tag
            {
                Key = "category:" + a.Key,
                Kind = "category",
                LabelEn = "Likes " + a.LabelEn,
                LabelZh = "偏好 " + a.LabelZh,
                Confidence = a.Share * Saturate(a.Score, _options.MinCategoryTagScore),
                EvidenceEventIds = state.CategoryScores[a.Key].Evidence.Ids(),
            });
        }
    }

    private void BrandTag(List<Tag> tags, ProfileState state, List<Affinity> brands)
    {
        if (brands.Count == 0) return;
        var top = brands[0];
        if (!AtLeast(top.Share, _options.LoyalBrandShare) || !AtLeast(top.Score, _options.MinBrandTagScore)) return;
        tags.Add(new Tag
        {
            Key = "brand:" + top.Key,
            Kind = "brand",
            LabelEn = "Loyal to " + top.LabelEn,
            LabelZh = "忠于 " + top.LabelZh,
            Confidence = top.Share * Saturate(top.Score, _options.MinBrandTagScore),
            EvidenceEventIds = state.BrandScores[top.Key].Evidence.Ids(),
        });
    }

    private void PriceTags(List<Tag> tags, ProfileState state, PriceResult price)
    {
        if (price.Percentile is { } p && price.TierEvidence is { } evidence)
        {
            if (price.Tier == Tiers.High)
            {
                tags.Add(new Tag
                {
                    Key = "price:high_power",
                    Kind = "price",
                    LabelEn = "High purchasing power",
                    LabelZh = "高消费力",
                    Confidence = price.TierConfidence * Ramp(p, 0.66, 1),
                    EvidenceEventIds = evidence.Ids(),
                });
            }
            else if (price.Tier == Tiers.Low)
            {
                tags.Add(new Tag
                {
                    Key = "price:budget",
                    Kind = "price",
                    LabelEn = "Budget shopper",
                    LabelZh = "偏好平价",
                    Confidence = price.TierConfidence * Ramp(1 - p, 0.66, 1),
                    EvidenceEventIds = evidence.Ids(),
                });
            }
        }
        if (price.Sensitivity is { } s && s >= _options.PriceSensitiveThreshold)
        {
            var buySide = state.Buy.Count > 0 ? state.Buy.Count : state.Intent.Count;
            tags.Add(new Tag
            {
                Key = "price:sensitive",
                Kind = "price",
                LabelEn = "Price sensitive",
                LabelZh = "价格敏感",
                Confidence = s * Math.Min(1, buySide / 3.0),
                EvidenceEventIds = (state.Buy.Count > 0 ? state.BuyEvidence : state.IntentEvidence).Ids(),
            });
        }
    }

    private static void LifecycleTags(List<Tag> tags, ProfileState state, LifecycleResult lifecycle)
    {
        var (en, zh) = lifecycle.Stage switch
        {
            LifecycleStages.New => ("New customer", "新用户"),
            LifecycleStages.AtRisk => ("At risk of churning", "流失风险"),
            LifecycleStages.Churned => ("Churned", "已流失"),
            _ => (null, null),
        };
        if (en is null || zh is null) return;
        tags.Add(new Tag
        {
            Key = "lifecycle:" + lifecycle.Stage,
            Kind = "lifecycle",
            LabelEn = en,
            LabelZh = zh,
            Confidence = lifecycle.Confidence,
            EvidenceEventIds = state.ActivityEvidence.Ids(),
        });
    }

    private void ValueTags(List<Tag> tags, ProfileState state, Rfm rfm, string stage, string activityLevel, double perWeek)
    {
        if (rfm.RecencyScore >= 3 && rfm.FrequencyScore >= 4 && rfm.MonetaryScore >= 4 && stage != LifecycleStages.Churned)
        {
            tags.Add(new Tag
            {
                Key = "value:high",
                Kind = "value",
                LabelEn = "High value",
                LabelZh = "高价值",
                Confidence = (rfm.RecencyScore + rfm.FrequencyScore + rfm.MonetaryScore) / 15.0,
                EvidenceEventIds = state.PurchaseEvidence.Ids(),
            });
        }
        if (activityLevel == Tiers.High)
        {
            tags.Add(new Tag
            {
                Key = "activity:high",
                Kind = "activity",
                LabelEn = "Highly active",
                LabelZh = "高活跃",
                Confidence = Ramp(perWeek, _options.ActivityHighPerWeek, 2 * _options.ActivityHighPerWeek),
                EvidenceEventIds = state.ActivityEvidence.Ids(),
            });
        }
        var withDevice = state.Devices.Total;
        if (withDevice >= MinDeviceEvents)
        {
            var share = (double)state.MobileEvents / withDevice;
            if (share >= _options.MostlyMobileShare)
            {
                tags.Add(new Tag
                {
                    Key = "device:mobile",
                    Kind = "device",
                    LabelEn = "Mostly mobile",
                    LabelZh = "移动端为主",
                    Confidence = Ramp(share, _options.MostlyMobileShare, 1) * Math.Min(1, withDevice / (2.0 * MinDeviceEvents)),
                    EvidenceEventIds = state.MobileEvidence.Ids(),
                });
            }
        }
    }

    private void TimeTags(List<Tag> tags, ProfileState state)
    {
        var n = state.ActivityEvents;
        if (n < _options.MinEventsForTimeTags) return;
        var volume = Math.Min(1, n / (2.0 * _options.MinEventsForTimeTags));
        var night = (double)state.LocalNight / n;
        if (night >= _options.NightOwlShare)
        {
            tags.Add(new Tag
            {
                Key = "time:night_owl",
                Kind = "time",
                LabelEn = "Night owl",
                LabelZh = "夜猫子",
                Confidence = Ramp(night, _options.NightOwlShare, 1) * volume,
                EvidenceEventIds = state.NightEvidence.Ids(),
            });
        }
        var weekend = (double)state.LocalWeekend / n;
        if (weekend >= _options.WeekendShopperShare)
        {
            tags.Add(new Tag
            {
                Key = "time:weekend",
                Kind = "time",
                LabelEn = "Weekend shopper",
                LabelZh = "周末购物者",
                Confidence = Ramp(weekend, _options.WeekendShopperShare, 1) * volume,
                EvidenceEventIds = state.WeekendEvidence.Ids(),
            });
        }
    }

    private static Dictionary<string, long> TypeCounts(ProfileState state)
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        for (var i = 0; i < state.TypeCounts.Count; i++)
        {
            if (state.TypeCounts[i] > 0) counts[EventTypes.All[i]] = state.TypeCounts[i];
        }
        return counts;
    }

    private static double[] Shares(IReadOnlyList<int> counts, long total)
    {
        var shares = new double[counts.Count];
        if (total == 0) return shares;
        for (var i = 0; i < shares.Length; i++) shares[i] = (double)counts[i] / total;
        return shares;
    }

    /// <summary>Indices of the <paramref name="n"/> largest non-zero counts, largest first, lower index on a tie.</summary>
    private static int[] TopIndices(IReadOnlyList<int> counts, int n) =>
        Enumerable.Range(0, counts.Count)
            .Where(i => counts[i] > 0)
            .OrderByDescending(i => counts[i])
            .ThenBy(i => i)
            .Take(n)
            .ToArray();

    /// <summary>0.5 at <paramref name="from"/> rising linearly to 1 at <paramref name="to"/>.</summary>
    private static double Ramp(double value, double from, double to) =>
        to <= from ? 1 : Math.Clamp(0.5 + 0.5 * (value - from) / (to - from), 0.5, 1);

    /// <summary>1 − e^(−score/scale): about 0.63 at the threshold, near 1 at a few times it.</summary>
    private static double Saturate(double score, double scale) =>
        scale <= 0 ? 1 : 1 - Math.Exp(-score / scale);

    /// <summary>value ≥ threshold on the <see cref="Quantize"/> grid: a value that equals the threshold up to summation order passes either way.</summary>
    private static bool AtLeast(double value, double threshold) => Quantize(value) >= Quantize(threshold);

    private static double Days(long fromTicks, long toTicks) => (toTicks - fromTicks) / (double)TimeSpan.TicksPerDay;

    /// <summary>
    /// Rounds a non-negative double to 32 significant bits (about 2e-10 relative), so values that differ only
    /// by summation order compare equal.
    /// </summary>
    internal static double Quantize(double x)
    {
        if (!(x > 0) || !double.IsFinite(x)) return x;
        var bits = BitConverter.DoubleToInt64Bits(x);
        bits = (bits + (1L << 19)) & ~((1L << 20) - 1);
        return BitConverter.Int64BitsToDouble(bits);
    }
}
