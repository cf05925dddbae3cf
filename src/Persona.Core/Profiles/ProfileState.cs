using Persona.Abstractions;

namespace Persona.Core.Profiles;

/// <summary>
/// One user's running aggregates, from which <see cref="ProfileBuilder"/> makes a <see cref="Profile"/>.
/// </summary>
/// <remarks>
/// <para><see cref="Apply"/> costs O(touched keys): the item's category levels, its brand and price band,
/// a few bounded evidence lists. Memory per user is bounded by the distinct categories and brands the user
/// touched, plus fixed-size parts: 5 evidence ids per key, 24 + 7 hour/weekday counters, a
/// <see cref="RecentWindowDays"/>-day activity ring, a day bitset (8 bytes per 64 days of span), and at most
/// <see cref="ProfileOptions.MaxTrackedKeys"/> devices and channels, and the bounded recent steps (<see cref="Steps"/>).</para>
/// <para>The aggregates do not depend on the order events are applied in (up to float rounding): decayed sums
/// stay anchored at their newest timestamp, bounded lists keep the top K by (timestamp, id), per-day
/// counts are kept for a window that ends at the newest day. Applying the same stored events in any order
/// gives the same profile. Only <see cref="Steps"/> follows the order of application, which is the log's sequence
/// order on every path (live, start pass, rebuild). Each stored event must be applied once: the store's idempotency
/// (unique ids) is what prevents double counting. Price percentiles and item categories are looked up in the catalog
/// when an event is applied, so a rebuild against a changed catalog can differ.</para>
/// <para>Not thread-safe: <see cref="ProfileBook"/> locks each state while applying or building.</para>
/// </remarks>
public sealed partial class ProfileState
{
    /// <summary>Days of per-day activity kept behind the user's newest event (lifecycle and activity windows).</summary>
    public const int RecentWindowDays = 64;

    private const int Low = 0;
    private const int Mid = 1;
    private const int High = 2;

    private readonly ProfileOptions _options;
    private readonly double _lambda;
    private readonly long[] _typeCounts = new long[EventTypes.All.Count];
    private readonly int[] _hours = new int[24];
    private readonly int[] _weekdays = new int[7];
    private readonly Dictionary<string, DecayedScore> _categories;
    private readonly Dictionary<string, DecayedScore> _brands;
    private readonly DecayedScore?[] _bands = new DecayedScore?[3];
    private DaySet _activeDays = new();
    private DayRing _recent = new();
    private KeyCounts _devices;
    private KeyCounts _channels;
    private ShopperSteps _steps;
    private RecentEvidence _activityEvidence;
    private RecentEvidence _purchaseEvidence;
    private RecentEvidence _buyEvidence;
    private RecentEvidence _intentEvidence;
    private RecentEvidence _browseEvidence;
    private RecentEvidence _nightEvidence;
    private RecentEvidence _weekendEvidence;
    private RecentEvidence _mobileEvidence;
    private PercentileStats _buy;
    private PercentileStats _intent;
    private PercentileStats _browse;
    private long _latestTicks = long.MinValue;
    private long _firstTicks = long.MaxValue;
    private long _lastTicks = long.MinValue;
    private long _lastPurchaseTicks = long.MinValue;
    private long _latestReceivedTicks = long.MinValue;
    private int _localNight;
    private int _localWeekend;
    // Exact (decimal) so that the sum, and the RFM score thresholds on it, do not depend on event order.
    private decimal _monetary;

    public ProfileState(ProfileOptions options)
    {
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _lambda = options.DecayPerDay;
        _categories = new Dictionary<string, DecayedScore>(StringComparer.Ordinal);
        _brands = new Dictionary<string, DecayedScore>(StringComparer.Ordinal);
        _devices = new KeyCounts(options.MaxTrackedKeys);
        _channels = new KeyCounts(options.MaxTrackedKeys);
        _steps = new ShopperSteps(options.RecentSteps, options.SeenItems);
        var k = options.MaxEvidence;
        _activityEvidence = new RecentEvidence(k);
        _purchaseEvidence = new RecentEvidence(k);
        _buyEvidence = new RecentEvidence(k);
        _intentEvidence = new RecentEvidence(k);
        _browseEvidence = new RecentEvidence(k);
        _nightEvidence = new RecentEvidence(k);
        _weekendEvidence = new RecentEvidence(k);
        _mobileEvidence = new RecentEvidence(k);
    }

    /// <summary>The highest <see cref="StoredEvent.Sequence"/> applied (0 before the first): how far into the log this state reaches.</summary>
    public long ThroughSequence { get; private set; }

    /// <summary>Events applied, counted and excluded alike: the profile version.</summary>
    public long AppliedEvents { get; private set; }
    /// <summary>Events that count (not excluded).</summary>
    public long CountedEvents { get; private set; }
    public long ExcludedEvents { get; private set; }
    /// <summary>Counted events other than impressions.</summary>
    public long ActivityEvents { get; private set; }
    public long Purchases { get; private set; }
    /// <summary>Sum of purchase values (price paid, else the item's catalog price).</summary>
    public double Monetary => (double)_monetary;
    /// <summary>Newest timestamp of any applied event (counted or excluded); null before the first.</summary>
    public DateTimeOffset? LatestTimestamp => Ticks(_latestTicks);
    public DateTimeOffset? FirstSeen => Ticks(_firstTicks == long.MaxValue ? long.MinValue : _firstTicks);
    public DateTimeOffset? LastSeen => Ticks(_lastTicks);
    public DateTimeOffset? LastPurchase => Ticks(_lastPurchaseTicks);
    /// <summary>Newest <see cref="StoredEvent.ReceivedAt"/> among applied events; null when none carried one.</summary>
    public DateTimeOffset? LatestReceivedAt => Ticks(_latestReceivedTicks);
    public int ActiveDays => _activeDays.Count;

    internal ProfileOptions Options => _options;
    internal double Lambda => _lambda;
    internal IReadOnlyList<long> TypeCounts => _typeCounts;
    internal IReadOnlyList<int> Hours => _hours;
    internal IReadOnlyList<int> Weekdays => _weekdays;
    internal int LocalNight => _localNight;
    internal int LocalWeekend => _localWeekend;
    internal IReadOnlyDictionary<string, DecayedScore> CategoryScores => _categories;
    internal IReadOnlyDictionary<string, DecayedScore> BrandScores => _brands;
    internal IReadOnlyList<DecayedScore?> BandScores => _bands;
    internal DayRing Recent => _recent;
    internal KeyCounts Devices => _devices;
    internal KeyCounts Channels => _channels;
    /// <summary>The shopper's recent item steps and seen items (read under the owner's lock).</summary>
    internal ShopperSteps Steps => _steps;
    internal RecentEvidence ActivityEvidence => _activityEvidence;
    internal RecentEvidence PurchaseEvidence => _purchaseEvidence;
    /// <summary>Purchases of priced catalog items (behind the purchasing-power tier).</summary>
    internal RecentEvidence BuyEvidence => _buyEvidence;
    internal RecentEvidence IntentEvidence => _intentEvidence;
    internal RecentEvidence BrowseEvidence => _browseEvidence;
    internal RecentEvidence NightEvidence => _nightEvidence;
    internal RecentEvidence WeekendEvidence => _weekendEvidence;
    internal RecentEvidence MobileEvidence => _mobileEvidence;
    internal long MobileEvents { get; private set; }
    internal PercentileStats Buy => _buy;
    internal PercentileStats Intent => _intent;
    internal PercentileStats Browse => _browse;

    /// <summary>Band names in <see cref="BandScores"/> order.</summary>
    internal static readonly string[] BandNames = [Tiers.Low, Tiers.Mid, Tiers.High];

    /// <summary>
    /// Adds one stored event. Excluded events (<see cref="StoredEvent.ExcludedReason"/> set) only raise
    /// <see cref="AppliedEvents"/>, <see cref="ExcludedEvents"/> and <see cref="LatestTimestamp"/>. Items missing
    /// from <paramref name="catalog"/> still count as activity but add no affinity or price signal.
    /// </summary>
    public void Apply(StoredEvent e, CatalogSnapshot catalog)
    {
        ArgumentNullException.ThrowIfNull(e);
        ArgumentNullException.ThrowIfNull(catalog);
        var ticks = e.Timestamp.UtcTicks;
        AppliedEvents++;
        if (e.Sequence > ThroughSequence) ThroughSequence = e.Sequence;
        if (ticks > _latestTicks) _latestTicks = ticks;
        if (e.ReceivedAt != default && e.ReceivedAt.UtcTicks > _latestReceivedTicks) _latestReceivedTicks = e.ReceivedAt.UtcTicks;
        if (e.ExcludedReason is not null)
        {
            ExcludedEvents++;
            return;
        }

        CountedEvents++;
        _typeCounts[(int)e.Type]++;
        if (e.Type != EventType.Impression) ApplyActivity(e, ticks);
        if (ShopperSteps.IsStep(e)) _steps.Add(e.ItemId!, e.Type, e.Timestamp);

        CatalogItem? item = null;
        if (e.ItemId is not null) catalog.TryGetItem(e.ItemId, out item);

        if (e.Type == EventType.Purchase)
        {
            Purchases++;
            if (ticks > _lastPurchaseTicks) _lastPurchaseTicks = ticks;
            _monetary += (decimal)(e.Value ?? item?.Price ?? 0);
            _purchaseEvidence.Add(ticks, e.Id);
        }
        if (item is null) return;

        var percentile = catalog.PricePercentile(item, _options.MinPeersForPercentile);
        var weight = Weight(e);
        if (weight > 0)
        {
            var categoryKeys = item.CategoryKeys;
            for (var depth = 0; depth < categoryKeys.Count; depth++)
                Score(_categories, categoryKeys[depth], depth + 1).Add(weight, ticks, _lambda, e.Id);
            if (item.Brand is not null) Score(_brands, item.Brand, 1).Add(weight, ticks, _lambda, e.Id);
            if (percentile is { } p)
            {
                var band = p < 1.0 / 3 ? Low : p > 2.0 / 3 ? High : Mid;
                (_bands[band] ??= new DecayedScore(1, _options.MaxEvidence)).Add(weight, ticks, _lambda, e.Id);
            }
        }
        if (percentile is { } pct)
        {
            switch (e.Type)
            {
                case EventType.Purchase:
                    _buy.Add(pct);
                    _buyEvidence.Add(ticks, e.Id);
                    break;
                case EventType.AddToCart or EventType.Favorite:
                    _intent.Add(pct);
                    _intentEvidence.Add(ticks, e.Id);
                    break;
                case EventType.View or EventType.Click:
                    _browse.Add(pct);
                    _browseEvidence.Add(ticks, e.Id);
                    break;
            }
        }
    }

    // Heap bytes behind EstimatedBytes, calibrated against what decoding a state allocates (ProfileBookColdTests): the
    // state with its fixed arrays and empty containers; one score (dictionary slot, score, evidence list); one device or
    // channel key. Evidence entries count their slot and their own copy of the event id (RecentEvidence.EntryBytes):
    // a decoded state holds one string per entry, and ids run to 30–40 characters in real logs.
    private const int FixedBytes = 2_000;
    private const int ScoreBytes = 140;
    private const int KeyBytes = 40;

    /// <summary>
    /// Approximate managed bytes this state holds, for the hot-state budget of <see cref="ProfileBook"/>. O(keys).
    /// </summary>
    public int EstimatedBytes()
    {
        var scores = 0;
        var evidence = _activityEvidence.EntryBytes + _purchaseEvidence.EntryBytes + _buyEvidence.EntryBytes + _intentEvidence.EntryBytes
            + _browseEvidence.EntryBytes + _nightEvidence.EntryBytes + _weekendEvidence.EntryBytes + _mobileEvidence.EntryBytes;
        foreach (var score in _categories.Values)
        {
            scores++;
            evidence += score.Evidence.EntryBytes;
        }
        foreach (var score in _brands.Values)
        {
            scores++;
            evidence += score.Evidence.EntryBytes;
        }
        foreach (var band in _bands)
        {
            if (band is null) continue;
            scores++;
            evidence += band.Evidence.EntryBytes;
        }
        return FixedBytes + _steps.EstimatedBytes + scores * ScoreBytes + evidence + (_devices.Count + _channels.Count) * KeyBytes + _activeDays.Words * 8;
    }

    /// <summary>A deep copy, for reading outside the owner's lock.</summary>
    public ProfileState Clone()
    {
        var copy = new ProfileState(_options)
        {
            ThroughSequence = ThroughSequence,
            AppliedEvents = AppliedEvents,
            CountedEvents = CountedEvents,
            ExcludedEvents = ExcludedEvents,
            ActivityEvents = ActivityEvents,
            Purchases = Purchases,
            _monetary = _monetary,
            MobileEvents = MobileEvents,
            _latestTicks = _latestTicks,
            _firstTicks = _firstTicks,
            _lastTicks = _lastTicks,
            _lastPurchaseTicks = _lastPurchaseTicks,
            _latestReceivedTicks = _latestReceivedTicks,
            _localNight = _localNight,
            _localWeekend = _localWeekend,
            _activeDays = _activeDays.Clone(),
            _recent = _recent.Clone(),
            _devices = _devices.Clone(),
            _channels = _channels.Clone(),
            _steps = _steps.Clone(),
            _activityEvidence = _activityEvidence.Clone(),
            _purchaseEvidence = _purchaseEvidence.Clone(),
            _buyEvidence = _buyEvidence.Clone(),
            _intentEvidence = _intentEvidence.Clone(),
            _browseEvidence = _browseEvidence.Clone(),
            _nightEvidence = _nightEvidence.Clone(),
            _weekendEvidence = _weekendEvidence.Clone(),
            _mobileEvidence = _mobileEvidence.Clone(),
            _buy = _buy,
            _intent = _intent,
            _browse = _browse,
        };
        _typeCounts.CopyTo(copy._typeCounts, 0);
        _hours.CopyTo(copy._hours, 0);
        _weekdays.CopyTo(copy._weekdays, 0);
        foreach (var (key, score) in _categories) copy._categories[key] = score.Clone();
        foreach (var (key, score) in _brands) copy._brands[key] = score.Clone();
        for (var i = 0; i < _bands.Length; i++) copy._bands[i] = _bands[i]?.Clone();
        return copy;
    }

    private void ApplyActivity(StoredEvent e, long ticks)
    {
        ActivityEvents++;
        if (ticks < _firstTicks) _firstTicks = ticks;
        if (ticks > _lastTicks) _lastTicks = ticks;
        var day = (int)(ticks / TimeSpan.TicksPerDay);
        _activeDays.Add(day);
        _recent.Add(day);
        var utc = new DateTime(ticks, DateTimeKind.Utc);
        _hours[utc.Hour]++;
        _weekdays[MondayFirst(utc.DayOfWeek)]++;
        var local = utc + _options.UtcOffset;
        if (local.Hour >= 22 || local.Hour < 5)
        {
            _localNight++;
            _nightEvidence.Add(ticks, e.Id);
        }
        if (local.DayOfWeek is DayOfWeek.Saturday or DayOfWeek.Sunday)
        {
            _localWeekend++;
            _weekendEvidence.Add(ticks, e.Id);
        }
        _activityEvidence.Add(ticks, e.Id);
        if (e.Device is { } device)
        {
            _devices.Add(device);
            if (_options.MobileDevices.Contains(device))
            {
                MobileEvents++;
                _mobileEvidence.Add(ticks, e.Id);
            }
        }
        if (e.Channel is { } channel) _channels.Add(channel);
    }

    private double Weight(StoredEvent e)
    {
        var weight = _options.WeightOf(e.Type);
        if (e.Type == EventType.Rate)
        {
            // 1 star adds nothing, 3 stars the plain weight, 5 stars twice it; a missing rating counts as 3.
            var rating = Math.Clamp(e.Value ?? 3, 1, 5);
            weight *= (rating - 1) / 2;
        }
        return weight;
    }

    private DecayedScore Score(Dictionary<string, DecayedScore> scores, string key, int level)
    {
        if (!scores.TryGetValue(key, out var score)) scores[key] = score = new DecayedScore(level, _options.MaxEvidence);
        return score;
    }

    internal static int MondayFirst(DayOfWeek day) => ((int)day + 6) % 7;

    private static DateTimeOffset? Ticks(long ticks) =>
        ticks == long.MinValue ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
}
