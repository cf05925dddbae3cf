using Persona.Abstractions;
using Persona.Core.Profiles;
using Persona.Hosting;

namespace Persona.Server.Dashboard;

/// <summary>One day's shop totals (UTC day).</summary>
public sealed record DayFigures(DateOnly Date, double Revenue, int Orders, int Visitors, int Buyers, long Events);

/// <summary>What one shopper did over the whole log: active days and purchase days (sorted day numbers), revenue and orders, by category and brand.</summary>
public sealed class ShopperLedger
{
    internal readonly SortedSet<int> ActiveDaySet = [];
    internal readonly SortedSet<int> PurchaseDaySet = [];
    internal readonly HashSet<string> OrderKeys = new(StringComparer.Ordinal);

    public int[] ActiveDays { get; internal set; } = [];
    public int[] PurchaseDays { get; internal set; } = [];
    public double Revenue { get; internal set; }
    public int Orders => OrderKeys.Count;
    /// <summary>Top-level category key → revenue.</summary>
    public Dictionary<string, double> CategoryRevenue { get; } = new(StringComparer.Ordinal);
    /// <summary>Brand → revenue.</summary>
    public Dictionary<string, double> BrandRevenue { get; } = new(StringComparer.Ordinal);
    /// <summary>Top-level category key → counted item events (views, clicks, carts, purchases…).</summary>
    public Dictionary<string, int> CategoryEvents { get; } = new(StringComparer.Ordinal);
    /// <summary>Brand → counted item events.</summary>
    public Dictionary<string, int> BrandEvents { get; } = new(StringComparer.Ordinal);
    /// <summary>Category keys of the top two levels the shopper touched.</summary>
    public HashSet<string> Categories { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Shop figures read from the event log: revenue (GMV), orders, visitors and buyers per UTC day and per shopper,
/// and every profiled shopper's lifecycle stage. Built by one scan of the store when first asked and again after
/// anything changed (events stored, items upserted, a shopper erased), so an erased shopper's share is gone at once.
/// </summary>
/// <remarks>
/// Counted events only: those ingestion excluded from profiles (bursts, bots) are left out here too, and impressions
/// (shown, not acted on) do not make a shopper a visitor. Revenue is a purchase's value (the amount paid) or, without
/// one, the item's catalog price. An order is a shopper's purchases in one session (a purchase without a session is
/// an order on its own); it is dated by its first purchase.
/// </remarks>
public sealed class ShopLedger : IEngineObserver, IDisposable
{
    private readonly PersonaEngine _engine;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _version;
    private Snapshot? _snapshot;

    public ShopLedger(PersonaEngine engine)
    {
        _engine = engine ?? throw new ArgumentNullException(nameof(engine));
        _engine.AddObserver(this);
    }

    /// <summary>The figures as of the store's current content.</summary>
    public sealed class Snapshot
    {
        public required DateOnly? FirstDay { get; init; }
        public required DateOnly? LastDay { get; init; }
        public required IReadOnlyList<DayFigures> Days { get; init; }
        public required IReadOnlyDictionary<string, ShopperLedger> Shoppers { get; init; }
        /// <summary>Profiled shopper (stored id) → lifecycle stage, as of the engine's clock; consent-withdrawn shoppers are not in it.</summary>
        public required IReadOnlyDictionary<string, string> Lifecycle { get; init; }
        public required IReadOnlyDictionary<string, string?> PurchasingPower { get; init; }
        /// <summary>Tag key → its labels and how many profiled shoppers carry it.</summary>
        public required IReadOnlyDictionary<string, (string En, string Zh, int Users)> Tags { get; init; }
        public required long Users { get; init; }
        public required int UsersWithoutEvents { get; init; }
        public required int ProfilesWithoutUserRecord { get; init; }
        public required int ConsentWithdrawn { get; init; }
        public required long Profiles { get; init; }
        public required string Currency { get; init; }
        public required CatalogSnapshot Catalog { get; init; }

        public int DayIndex(DateOnly day) => FirstDay is { } first ? day.DayNumber - first.DayNumber : 0;
    }

    public void Dispose() => _gate.Dispose();

    public void OnEventsStored(IReadOnlyList<StoredEvent> events) => Interlocked.Increment(ref _version);

    public void OnItemsUpserted(IReadOnlyList<Item> items) => Interlocked.Increment(ref _version);

    public void OnUsersUpserted(IReadOnlyList<User> users) => Interlocked.Increment(ref _version);

    public string? OnUserErased(string userId)
    {
        Interlocked.Increment(ref _version);
        return null;
    }

    public async Task<Snapshot> GetAsync(CancellationToken cancellationToken)
    {
        var version = Interlocked.Read(ref _version);
        if (Volatile.Read(ref _snapshot) is { } cached && _snapshotVersion == version) return cached;
        await _gate.WaitAsync(cancellationToken);
        try
        {
            version = Interlocked.Read(ref _version);
            if (_snapshot is { } again && _snapshotVersion == version) return again;
            var built = await BuildAsync(cancellationToken);
            _snapshotVersion = version;
            Volatile.Write(ref _snapshot, built);
            return built;
        }
        finally
        {
            _gate.Release();
        }
    }

    private long _snapshotVersion = -1;

    private async Task<Snapshot> BuildAsync(CancellationToken cancellationToken)
    {
        var catalog = _engine.Catalog;
        var shoppers = new Dictionary<string, ShopperLedger>(StringComparer.Ordinal);
        var dayRevenue = new Dictionary<int, double>();
        var dayOrders = new Dictionary<int, int>();
        var dayEvents = new Dictionary<int, long>();
        var currencies = new Dictionary<string, int>(StringComparer.Ordinal);
        var itemCurrency = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var item in _engine.Store.ReadItemsAsync(cancellationToken))
            itemCurrency[item.Id] = item.Currency;

        await foreach (var e in _engine.Store.ReadEventsAsync(0, cancellationToken))
        {
            if (e.ExcludedReason is not null || e.Type == EventType.Impression) continue;
            var day = DateOnly.FromDateTime(e.Timestamp.UtcDateTime).DayNumber;
            if (!shoppers.TryGetValue(e.UserId, out var shopper)) shoppers[e.UserId] = shopper = new ShopperLedger();
            shopper.ActiveDaySet.Add(day);
            dayEvents[day] = dayEvents.GetValueOrDefault(day) + 1;

            CatalogItem? item = null;
            if (e.ItemId is not null) catalog.TryGetItem(e.ItemId, out item);
            var category = item?.CategoryKeys.Count > 0 ? item.CategoryKeys[0] : null;
            if (category is not null) shopper.CategoryEvents[category] = shopper.CategoryEvents.GetValueOrDefault(category) + 1;
            if (item is not null)
                for (var depth = 0; depth < Math.Min(2, item.CategoryKeys.Count); depth++) shopper.Categories.Add(item.CategoryKeys[depth]);
            if (item?.Brand is { } brand) shopper.BrandEvents[brand] = shopper.BrandEvents.GetValueOrDefault(brand) + 1;
            if (e.Type != EventType.Purchase) continue;

            var paid = e.Value ?? item?.Price ?? 0;
            shopper.Revenue += paid;
            shopper.PurchaseDaySet.Add(day);
            dayRevenue[day] = dayRevenue.GetValueOrDefault(day) + paid;
            if (shopper.OrderKeys.Add(e.SessionId is { } session ? "s:" + session : "e:" + e.Id))
                dayOrders[day] = dayOrders.GetValueOrDefault(day) + 1;
            if (category is not null) shopper.CategoryRevenue[category] = shopper.CategoryRevenue.GetValueOrDefault(category) + paid;
            if (item?.Brand is { } bought) shopper.BrandRevenue[bought] = shopper.BrandRevenue.GetValueOrDefault(bought) + paid;
            if (e.ItemId is not null && itemCurrency.TryGetValue(e.ItemId, out var currency))
                currencies[currency] = currencies.GetValueOrDefault(currency) + 1;
        }

        var visitors = new Dictionary<int, int>();
        var buyers = new Dictionary<int, int>();
        foreach (var shopper in shoppers.Values)
        {
            shopper.ActiveDays = [.. shopper.ActiveDaySet];
            shopper.PurchaseDays = [.. shopper.PurchaseDaySet];
            shopper.ActiveDaySet.Clear();
            shopper.PurchaseDaySet.Clear();
            foreach (var d in shopper.ActiveDays) visitors[d] = visitors.GetValueOrDefault(d) + 1;
            foreach (var d in shopper.PurchaseDays) buyers[d] = buyers.GetValueOrDefault(d) + 1;
        }

        DateOnly? first = dayEvents.Count > 0 ? DateOnly.FromDayNumber(dayEvents.Keys.Min()) : null;
        DateOnly? last = dayEvents.Count > 0 ? DateOnly.FromDayNumber(dayEvents.Keys.Max()) : null;
        var days = new List<DayFigures>();
        if (first is { } from && last is { } to)
            for (var d = from.DayNumber; d <= to.DayNumber; d++)
                days.Add(new DayFigures(DateOnly.FromDayNumber(d), Math.Round(dayRevenue.GetValueOrDefault(d), 2), dayOrders.GetValueOrDefault(d),
                    visitors.GetValueOrDefault(d), buyers.GetValueOrDefault(d), dayEvents.GetValueOrDefault(d)));

        // Users (records from PUT /v1/users or an import) and profiles (shoppers with events) are different sets.
        var profiled = _engine.ProfileUsers.ToHashSet(StringComparer.Ordinal);
        long users = 0;
        var withoutEvents = 0;
        var consentWithdrawn = 0;
        var records = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var user in _engine.Store.ReadUsersAsync(cancellationToken))
        {
            users++;
            records.Add(user.Id);
            if (!profiled.Contains(user.Id)) withoutEvents++;
            if (!user.Consent.Personalization) consentWithdrawn++;
        }

        var lifecycle = new Dictionary<string, string>(StringComparer.Ordinal);
        var power = new Dictionary<string, string?>(StringComparer.Ordinal);
        var tags = new Dictionary<string, (string En, string Zh, int Users)>(StringComparer.Ordinal);
        foreach (var userId in profiled)
        {
            var read = _engine.GetProfile(userId, enrich: false);
            if (read.Status != ProfileStatus.Found) continue;
            lifecycle[userId] = read.Profile!.Traits.Lifecycle;
            power[userId] = read.Profile.Traits.PurchasingPowerTier;
            foreach (var tag in read.Profile.Tags)
                tags[tag.Key] = tags.TryGetValue(tag.Key, out var known) ? known with { Users = known.Users + 1 } : (tag.LabelEn, tag.LabelZh, 1);
        }

        return new Snapshot
        {
            FirstDay = first,
            LastDay = last,
            Days = days,
            Shoppers = shoppers,
            Lifecycle = lifecycle,
            PurchasingPower = power,
            Tags = tags,
            Users = users,
            UsersWithoutEvents = withoutEvents,
            ProfilesWithoutUserRecord = profiled.Count(p => !records.Contains(p)),
            ConsentWithdrawn = consentWithdrawn,
            Profiles = profiled.Count,
            Currency = currencies.Count > 0 ? currencies.MaxBy(c => c.Value).Key : "CNY",
            Catalog = catalog,
        };
    }
}
