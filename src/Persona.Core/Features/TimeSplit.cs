using Persona.Abstractions;
using Persona.Core.Profiles;

namespace Persona.Core.Features;

/// <summary>What a user did in an outcome window [cut, cut + horizon): counted events only.</summary>
public sealed class Outcome
{
    public int Events { get; set; }
    public int Purchases { get; set; }
    /// <summary>Purchases per top-level category key.</summary>
    public Dictionary<string, int> CategoryPurchases { get; } = new(StringComparer.Ordinal);
    /// <summary>Money spent per top-level category key (event value, else the catalog price).</summary>
    public Dictionary<string, double> CategoryRevenue { get; } = new(StringComparer.Ordinal);
}

/// <summary>
/// Per-day counts of a user's counted events, purchases and add-to-carts over the <see cref="Days"/> days
/// before a cut (index 0 = the last 24 hours): the short-term rhythm a decayed profile smooths away.
/// </summary>
public sealed class RecentActivity
{
    public const int Days = 28;
    private readonly short[] _counts = new short[3 * Days]; // (kind: event, purchase, cart; day)

    public static RecentActivity Empty { get; } = new();

    public void Add(int day, EventType type)
    {
        Bump(0, day);
        if (type == EventType.Purchase) Bump(1, day);
        else if (type == EventType.AddToCart) Bump(2, day);
    }

    private void Bump(int kind, int day)
    {
        ref var c = ref _counts[kind * Days + day];
        if (c < short.MaxValue) c++;
    }

    /// <summary>Events in the last <paramref name="days"/> days.</summary>
    public int Events(int days) => Sum(0, days);
    public int Purchases(int days) => Sum(1, days);
    public int Carts(int days) => Sum(2, days);

    /// <summary>Days with at least one counted event among the last <paramref name="days"/>.</summary>
    public int ActiveDays(int days)
    {
        var n = 0;
        for (var d = 0; d < days; d++) if (_counts[d] > 0) n++;
        return n;
    }

    private int Sum(int kind, int days)
    {
        var s = 0;
        for (var d = 0; d < days; d++) s += _counts[kind * Days + d];
        return s;
    }
}

/// <summary>Profiles of every user seen before a cut-off, as of the cut-off, with what each did after it.</summary>
public sealed record SplitSnapshot(DateTimeOffset Cut, TimeSpan Horizon, IReadOnlyList<Profile> Profiles, IReadOnlyDictionary<string, Outcome> Outcomes)
{
    /// <summary>Each user's activity in the days before the cut.</summary>
    public IReadOnlyDictionary<string, RecentActivity> Recent { get; init; } = new Dictionary<string, RecentActivity>();

    /// <summary>The user's outcome, empty when they did nothing in the window.</summary>
    public Outcome OutcomeOf(string userId) => Outcomes.TryGetValue(userId, out var o) ? o : new Outcome();

    public RecentActivity RecentOf(string userId) => Recent.TryGetValue(userId, out var r) ? r : RecentActivity.Empty;
}

/// <summary>
/// Streams stored events once and keeps, per cut-off, a <see cref="ProfileBook"/> of the events before it
/// and the outcomes in [cut, cut + horizon). Memory is the profile states, not the events, so it scales to
/// the whole store. Excluded (burst) events count neither as features nor as outcomes.
/// </summary>
public sealed class TimeSplitBuilder
{
    private readonly CatalogSnapshot _catalog;
    private readonly TimeSpan _horizon;
    private readonly Cut[] _cuts;

    public TimeSplitBuilder(CatalogSnapshot catalog, ProfileOptions profileOptions, IReadOnlyList<DateTimeOffset> cuts, TimeSpan horizon)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        if (horizon <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(horizon), "The horizon must be positive.");
        _catalog = catalog;
        _horizon = horizon;
        _cuts = [.. cuts.Select(c => new Cut(c, new ProfileBook(profileOptions, catalog)))];
    }

    public void Add(StoredEvent e)
    {
        foreach (var cut in _cuts)
        {
            if (e.Timestamp < cut.At)
            {
                cut.Pending.Add(e);
                if (cut.Pending.Count == 4096) cut.Flush();
                var day = (int)((cut.At - e.Timestamp).Ticks / TimeSpan.TicksPerDay);
                if (day < RecentActivity.Days && e.ExcludedReason is null)
                {
                    if (!cut.Recent.TryGetValue(e.UserId, out var recent)) cut.Recent[e.UserId] = recent = new RecentActivity();
                    recent.Add(day, e.Type);
                }
            }
            else if (e.Timestamp < cut.At + _horizon && e.ExcludedReason is null)
            {
                Record(cut, e);
            }
        }
    }

    private void Record(Cut cut, StoredEvent e)
    {
        if (!cut.Outcomes.TryGetValue(e.UserId, out var o)) cut.Outcomes[e.UserId] = o = new Outcome();
        o.Events++;
        if (e.Type != EventType.Purchase) return;
        o.Purchases++;
        if (e.ItemId is null || !_catalog.TryGetItem(e.ItemId, out var item) || item.CategoryKeys.Count == 0) return;
        var top = item.CategoryKeys[0];
        o.CategoryPurchases[top] = o.CategoryPurchases.GetValueOrDefault(top) + 1;
        o.CategoryRevenue[top] = o.CategoryRevenue.GetValueOrDefault(top) + (e.Value is > 0 ? e.Value.Value : item.Price ?? 0);
    }

    /// <summary>One snapshot per cut, in the order given; profiles sorted by user id.</summary>
    public IReadOnlyList<SplitSnapshot> Build()
    {
        var result = new List<SplitSnapshot>(_cuts.Length);
        foreach (var cut in _cuts)
        {
            cut.Flush();
            var users = cut.Book.Users.Order(StringComparer.Ordinal).ToList();
            var profiles = new Profile[users.Count];
            Parallel.For(0, users.Count, i => profiles[i] = cut.Book.Build(users[i], cut.At)!);
            result.Add(new SplitSnapshot(cut.At, _horizon, profiles, cut.Outcomes) { Recent = cut.Recent });
        }
        return result;
    }

    private sealed class Cut(DateTimeOffset at, ProfileBook book)
    {
        public DateTimeOffset At { get; } = at;
        public ProfileBook Book { get; } = book;
        public List<StoredEvent> Pending { get; } = new(4096);
        public Dictionary<string, Outcome> Outcomes { get; } = new(StringComparer.Ordinal);
        public Dictionary<string, RecentActivity> Recent { get; } = new(StringComparer.Ordinal);

        public void Flush()
        {
            if (Pending.Count == 0) return;
            Book.Apply(Pending);
            Pending.Clear();
        }
    }
}

/// <summary>Collects <see cref="RecentActivity"/> per user for the days before <paramref name="at"/> (exclusive), e.g. for scoring live profiles.</summary>
public sealed class RecentActivityCollector(DateTimeOffset at)
{
    private readonly Dictionary<string, RecentActivity> _recent = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, RecentActivity> Recent => _recent;

    public void Add(StoredEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        if (e.ExcludedReason is not null || e.Timestamp >= at) return;
        var day = (int)((at - e.Timestamp).Ticks / TimeSpan.TicksPerDay);
        if (day >= RecentActivity.Days) return;
        if (!_recent.TryGetValue(e.UserId, out var recent)) _recent[e.UserId] = recent = new RecentActivity();
        recent.Add(day, e.Type);
    }

    public RecentActivity RecentOf(string userId) => _recent.TryGetValue(userId, out var r) ? r : RecentActivity.Empty;
}
