using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Persona.Abstractions;
using Persona.Core.Retrieval;

namespace Persona.Core.Profiles;

/// <summary>
/// Every user's <see cref="ProfileState"/>, updated as events are stored and turned into profiles on
/// demand. Thread-safe: states live in a concurrent map and each is locked while it is applied to or
/// built from, so different users proceed in parallel and one user's events apply one at a time.
/// </summary>
/// <remarks>
/// The profile version is the number of events applied to the user (counted and excluded alike), so a
/// rebuild from the same stored events gives the same version and the same profile whatever the order.
/// The data clock ("shop clock") is the newest time that broad activity has reached: the
/// <see cref="ProfileOptions.ClockQuorum"/>-th newest of the shoppers' own newest event times (at most a tenth of the
/// shoppers, at least one). It is the default <c>asOf</c>, which keeps profiles reproducible (wall-clock time never
/// enters them), and one shopper cannot drag it: an event far later than everyone else's moves it no further than
/// where the other shoppers already are, and it moves back when that shopper is removed. A shopper whose own newest
/// event is later than the <c>asOf</c> asked for is evaluated as of that event, so their own traits still see it.
/// <para>Hot and cold shoppers (docs/state.md): with an <see cref="IColdStateLoader"/> and a byte budget, a shopper's
/// state may be dropped from memory once it is stored exactly as it is (<see cref="MarkStored"/>) and it has not been
/// touched since the clock hand last passed it (second chance); the next touch loads it back through the loader, so a
/// cold read gives what the hot state would. A shopper whose state changed since it was stored is never dropped.</para>
/// </remarks>
public sealed class ProfileBook
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ProfileBuilder _builder;
    private readonly IColdStateLoader? _cold;
    private readonly long _hotBudgetBytes;
    // Hot entries in the order they became hot: the clock the evictor sweeps (each hot entry is in it once).
    private readonly ConcurrentQueue<(string UserId, Entry Entry)> _clock = new();
    private readonly Lock _trimLock = new();
    private long _hotBytes;
    private long _loads;
    private long _evictions;
    // One counter for every shopper's changes, so a shopper who was removed and came back never repeats a version.
    private long _lastChange;
    private CatalogSnapshot _catalog;
    // Every shopper's newest event time, for the shop clock. Moved under the shopper's entry lock, then the clock's own
    // (never the other way round).
    private readonly ShopClock _shopClock;

    public ProfileBook(ProfileOptions? options = null, CatalogSnapshot? catalog = null)
        : this(options, catalog, cold: null, hotBudgetBytes: long.MaxValue)
    {
    }

    /// <param name="options">Profile options (validated).</param>
    /// <param name="catalog">The starting catalog.</param>
    /// <param name="cold">Loads the stored state of a cold shopper; null keeps every shopper hot.</param>
    /// <param name="hotBudgetBytes">Estimated bytes of hot states above which stored, untouched ones are dropped.</param>
    public ProfileBook(ProfileOptions? options, CatalogSnapshot? catalog, IColdStateLoader? cold, long hotBudgetBytes)
    {
        Options = options ?? new ProfileOptions();
        var problems = Options.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(hotBudgetBytes);
        _builder = new ProfileBuilder(Options);
        _shopClock = new ShopClock(Options.ClockQuorum);
        _catalog = catalog ?? CatalogSnapshot.Empty;
        _cold = cold;
        _hotBudgetBytes = hotBudgetBytes;
    }

    /// <summary>Estimated bytes of the states held in memory (see <see cref="ProfileState.EstimatedBytes"/>).</summary>
    public long HotBytes => Interlocked.Read(ref _hotBytes);

    /// <summary>Whether the hot states exceed the budget: the caller should store changed states so they can be dropped.</summary>
    public bool OverBudget => _cold is not null && HotBytes > _hotBudgetBytes;

    /// <summary>Cold shoppers loaded back, and hot ones dropped, since this book was made.</summary>
    public (long Loads, long Evictions) ColdTraffic => (Interlocked.Read(ref _loads), Interlocked.Read(ref _evictions));

    public ProfileOptions Options { get; }

    /// <summary>The catalog used by <see cref="Apply(IReadOnlyList{StoredEvent})"/> and <see cref="Build(string, DateTimeOffset?)"/>; swap it when items change.</summary>
    public CatalogSnapshot Catalog
    {
        get => Volatile.Read(ref _catalog);
        set => Volatile.Write(ref _catalog, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>The shop clock: the newest time the quorum of shoppers has reached (see remarks); null while empty.</summary>
    public DateTimeOffset? DataClock => _shopClock.Now;

    /// <summary>Users with a state (a snapshot of the keys).</summary>
    public IReadOnlyCollection<string> Users => _entries.Keys.ToArray();

    public int Count => _entries.Count;

    /// <summary>Whether the user has a state, hot or cold. Loads nothing.</summary>
    public bool Contains(string userId) => _entries.ContainsKey(userId);

    /// <summary>Applies events against the current <see cref="Catalog"/>; see <see cref="Apply(IReadOnlyList{StoredEvent}, CatalogSnapshot)"/>.</summary>
    public IReadOnlyList<string> Apply(IReadOnlyList<StoredEvent> events) => Apply(events, Catalog);

    /// <summary>
    /// Applies stored events, grouped by user, each user's in the order given (the order changes only the recent
    /// steps, which follow it: give events in sequence order). Returns the users touched, in order of first
    /// appearance, so the caller can rebuild and save their profiles. Apply each stored event once.
    /// </summary>
    public IReadOnlyList<string> Apply(IReadOnlyList<StoredEvent> events, CatalogSnapshot catalog)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(catalog);
        if (events.Count == 0) return [];
        var groups = new Dictionary<string, List<StoredEvent>>(StringComparer.Ordinal);
        var users = new List<string>();
        foreach (var e in events)
        {
            ArgumentNullException.ThrowIfNull(e);
            if (!groups.TryGetValue(e.UserId, out var list))
            {
                groups[e.UserId] = list = [];
                users.Add(e.UserId);
            }
            list.Add(e);
        }
        foreach (var userId in users)
        {
            var list = groups[userId];
            WithState(userId, create: true, state =>
            {
                var before = state.LatestTimestamp;
                foreach (var e in list) state.Apply(e, catalog);
                if (state.LatestTimestamp != before) MoveNewest(before, state.LatestTimestamp);
                return true;
            });
        }
        return users;
    }

    /// <summary>
    /// Replays the log's tail after a restart: events in sequence order, each skipped when the shopper's restored
    /// state already reaches it (<see cref="ProfileState.ThroughSequence"/>), so a shopper written after the checkpoint
    /// is not counted twice. Returns the users whose state changed.
    /// </summary>
    public IReadOnlyList<string> ApplyTail(IReadOnlyList<StoredEvent> events, CatalogSnapshot catalog)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentNullException.ThrowIfNull(catalog);
        var changed = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            ArgumentNullException.ThrowIfNull(e);
            WithState(e.UserId, create: true, state =>
            {
                if (e.Sequence <= state.ThroughSequence) return false;
                var before = state.LatestTimestamp;
                if (seen.Add(e.UserId)) changed.Add(e.UserId);
                state.Apply(e, catalog);
                if (state.LatestTimestamp != before) MoveNewest(before, state.LatestTimestamp);
                return true;
            });
        }
        return changed;
    }

    /// <summary>
    /// Puts a state read from a checkpoint in place, hot and stored as it is, for a user who has none yet; false when
    /// the user already has a state, which is then left as it is.
    /// </summary>
    public bool Restore(string userId, ProfileState state)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(state);
        var entry = new Entry { StoredVersion = state.AppliedEvents, Change = Interlocked.Increment(ref _lastChange) };
        lock (entry)
        {
            if (!_entries.TryAdd(userId, entry)) return false;
            MakeHot(userId, entry, state, state.EstimatedBytes());
            if (state.LatestTimestamp is { } newest) MoveNewest(null, newest);
        }
        Volatile.Write(ref _sweepMayHelp, true);
        TrimAfterTouch();
        return true;
    }

    /// <summary>
    /// Registers a user whose state stays in the store until first touched (a start that keeps only part of the
    /// shoppers in memory); <paramref name="latestTicks"/> is the state's newest event time, for the shop clock.
    /// False when the user already has a state. Needs an <see cref="IColdStateLoader"/>.
    /// </summary>
    public bool RestoreCold(string userId, long latestTicks)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (_cold is null) throw new InvalidOperationException("A cold shopper needs an IColdStateLoader.");
        var entry = new Entry { LatestTicks = latestTicks, Cold = true, Change = Interlocked.Increment(ref _lastChange) };
        lock (entry)
        {
            if (!_entries.TryAdd(userId, entry)) return false;
            if (latestTicks != long.MinValue) MoveNewest(null, new DateTimeOffset(latestTicks, TimeSpan.Zero));
        }
        return true;
    }

    /// <summary>
    /// The user's state as a checkpoint record (see <see cref="ProfileState.Encode"/>) with the sequence it reaches and
    /// its version (<see cref="ProfileState.AppliedEvents"/>, for <see cref="MarkStored"/>) and newest event time (UTC
    /// ticks, <see cref="long.MinValue"/> when none, for <see cref="RestoreCold"/>); null when the user has none.
    /// A cold user's record is already stored: null too.
    /// </summary>
    public (byte[] Record, long ThroughSequence, long Version, long LatestTicks)? Encode(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (!_entries.TryGetValue(userId, out var entry)) return null;
        lock (entry)
        {
            if (entry.Retired || entry.State is not { } s) return null;
            return (s.Encode(), s.ThroughSequence, s.AppliedEvents, s.LatestTimestamp?.UtcTicks ?? long.MinValue);
        }
    }

    /// <summary>
    /// Notes that the user's record of <paramref name="version"/> (from <see cref="Encode"/>) is durably stored: while the
    /// state stays at that version it may be dropped from memory and loaded back. Call only after the write succeeded.
    /// </summary>
    public void MarkStored(string userId, long version)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (!_entries.TryGetValue(userId, out var entry)) return;
        lock (entry)
        {
            if (!entry.Retired && entry.State is { } s && s.AppliedEvents == version) entry.StoredVersion = version;
        }
    }

    /// <summary>
    /// Drops stored, untouched states (clock order, second chance) until the hot states are under nine tenths of the
    /// budget or none is left to drop. Cheap when under budget; one caller sweeps at a time.
    /// </summary>
    public void Trim() => Trim(long.MaxValue);

    /// <summary>After a touch: a short sweep, and only when a stored state became hot since a sweep last came up short.</summary>
    private void TrimAfterTouch()
    {
        if (Volatile.Read(ref _sweepMayHelp)) Trim(InlineSweepSteps);
    }

    // Entries one touch may pass: a clock full of changed (unstorable) states must not make every touch a full sweep.
    private const long InlineSweepSteps = 4_096;
    // False once a sweep ended above target; a stored state becoming hot (load, restore) or an explicit trim sets it again.
    private bool _sweepMayHelp = true;

    private void Trim(long maxSteps)
    {
        if (!OverBudget || !_trimLock.TryEnter()) return;
        try
        {
            var target = AdmitBelowBytes;
            // Two turns of the clock at most: the first clears reference bits, the second finds them clear.
            for (var steps = Math.Min(maxSteps, 2L * _clock.Count); steps > 0 && HotBytes > target && _clock.TryDequeue(out var item); steps--)
            {
                var entry = item.Entry;
                lock (entry)
                {
                    if (entry.Retired || entry.State is not { } state)
                    {
                        entry.InClock = false;
                    }
                    else if (entry.Referenced || state.AppliedEvents != entry.StoredVersion)
                    {
                        entry.Referenced = false;
                        _clock.Enqueue(item);
                    }
                    else
                    {
                        entry.LatestTicks = state.LatestTimestamp?.UtcTicks ?? long.MinValue;
                        entry.State = null;
                        entry.Cold = true;
                        entry.InClock = false;
                        Interlocked.Add(ref _hotBytes, -entry.Bytes);
                        entry.Bytes = 0;
                        Interlocked.Increment(ref _evictions);
                    }
                }
            }
            Volatile.Write(ref _sweepMayHelp, HotBytes <= target);
        }
        finally
        {
            _trimLock.Exit();
        }
    }

    /// <summary>Applies one stored event against <paramref name="catalog"/>.</summary>
    public void Apply(StoredEvent e, CatalogSnapshot catalog) => Apply([e], catalog);

    /// <summary>A deep copy of the user's state (O(state size)); false when the user has none.</summary>
    public bool TryGetState(string userId, [NotNullWhen(true)] out ProfileState? state)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ProfileState? copy = null;
        WithState(userId, create: false, s =>
        {
            copy = s.Clone();
            return false;
        });
        state = copy;
        return state is not null;
    }

    /// <summary>The highest sequence the user's state holds (loading a cold one); 0 for an unknown user.</summary>
    public long ThroughSequenceOf(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        var through = 0L;
        WithState(userId, create: false, s =>
        {
            through = s.ThroughSequence;
            return false;
        });
        return through;
    }

    /// <summary>
    /// A number that changes whenever the user's state changes and is never repeated, even for a user removed and seen
    /// again (0 when unknown): what caches of answers derived from the state are stamped with. Loads nothing.
    /// </summary>
    public long ChangeOf(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        return _entries.TryGetValue(userId, out var entry) ? Volatile.Read(ref entry.Change) : 0;
    }

    /// <summary>
    /// The user's newest <paramref name="maxSteps"/> item steps (oldest first) and, when <paramref name="withSeen"/>,
    /// the items they recently interacted with: copies read under the user's lock, loading a cold state. Empty for an
    /// unknown user.
    /// </summary>
    public (BehaviorStep[] Steps, HashSet<string> Seen) RecentSteps(string userId, int maxSteps = int.MaxValue, bool withSeen = false)
    {
        ArgumentNullException.ThrowIfNull(userId);
        BehaviorStep[] steps = [];
        HashSet<string>? seen = null;
        WithState(userId, create: false, s =>
        {
            steps = s.Steps.Recent(maxSteps);
            if (withSeen) seen = s.Steps.Seen();
            return false;
        });
        return (steps, seen ?? new HashSet<string>(StringComparer.Ordinal));
    }

    /// <summary>Up to <paramref name="count"/> users, the most recently active first (by their newest event time). O(users · log count).</summary>
    public IReadOnlyList<string> MostRecentUsers(int count)
    {
        if (count <= 0) return [];
        var top = new PriorityQueue<string, (long Ticks, string User)>(count + 1, NewestLast.Instance);
        foreach (var (user, entry) in _entries)
        {
            // Read without the lock: a shopper's newest time only grows, and an approximate order is enough here.
            var ticks = entry.State is { } state ? state.LatestTimestamp?.UtcTicks ?? long.MinValue : Volatile.Read(ref entry.LatestTicks);
            top.Enqueue(user, (ticks, user));
            if (top.Count > count) top.Dequeue();
        }
        var users = new string[top.Count];
        for (var i = users.Length - 1; i >= 0; i--) users[i] = top.Dequeue();
        return users;
    }

    // Orders the queue so its head is the least recent (then the greatest id), the one to drop.
    private sealed class NewestLast : IComparer<(long Ticks, string User)>
    {
        public static readonly NewestLast Instance = new();

        public int Compare((long Ticks, string User) x, (long Ticks, string User) y) =>
            x.Ticks != y.Ticks ? x.Ticks.CompareTo(y.Ticks) : string.CompareOrdinal(y.User, x.User);
    }

    /// <summary>The user's profile version (events applied), 0 when unknown.</summary>
    public long VersionOf(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        long version = 0;
        WithState(userId, create: false, s =>
        {
            version = s.AppliedEvents;
            return false;
        });
        return version;
    }

    /// <summary>
    /// Builds the user's profile with the current <see cref="Catalog"/> as of <paramref name="asOf"/> (default:
    /// the <see cref="DataClock"/>), or as of the user's own newest event when that is later; null when the user has
    /// no state.
    /// </summary>
    public Profile? Build(string userId, DateTimeOffset? asOf = null) => Build(userId, Catalog, asOf);

    /// <summary>Builds the user's profile with labels from <paramref name="catalog"/>; null when the user has no state.</summary>
    public Profile? Build(string userId, CatalogSnapshot catalog, DateTimeOffset? asOf = null)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(catalog);
        Profile? profile = null;
        WithState(userId, create: false, s =>
        {
            profile = BuildFrom(userId, s, catalog, asOf);
            return false;
        });
        return profile;
    }

    /// <summary>The profile of one state, as of <paramref name="asOf"/> (default the shop clock), or of its own newest event when later.</summary>
    private Profile BuildFrom(string userId, ProfileState s, CatalogSnapshot catalog, DateTimeOffset? asOf)
    {
        var at = asOf ?? DataClock ?? s.LatestTimestamp ?? DateTimeOffset.UnixEpoch;
        if (s.LatestTimestamp is { } own && own > at) at = own;
        return _builder.Build(userId, s, catalog, at, s.AppliedEvents);
    }

    /// <summary>
    /// <see cref="Build(string, CatalogSnapshot, DateTimeOffset?)"/> and <see cref="RecentSteps"/> in one read: under one
    /// lock, a cold shopper loaded once (a read that does not hold what it loaded would otherwise decode it twice).
    /// </summary>
    public (Profile? Profile, BehaviorStep[] Steps, HashSet<string> Seen) BuildWithSteps(
        string userId, int maxSteps, bool withSeen, DateTimeOffset? asOf = null)
    {
        ArgumentNullException.ThrowIfNull(userId);
        var catalog = Catalog;
        Profile? profile = null;
        BehaviorStep[] steps = [];
        HashSet<string>? seen = null;
        WithState(userId, create: false, s =>
        {
            profile = BuildFrom(userId, s, catalog, asOf);
            steps = s.Steps.Recent(maxSteps);
            if (withSeen) seen = s.Steps.Seen();
            return false;
        });
        return (profile, steps, seen ?? new HashSet<string>(StringComparer.Ordinal));
    }

    /// <summary>
    /// Forgets a user (e.g. after consent is withdrawn or the user is deleted). Events applied concurrently
    /// with the removal may land in the removed state or in a fresh one.
    /// </summary>
    public bool Remove(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (!_entries.TryRemove(userId, out var entry)) return false;
        lock (entry)
        {
            entry.Retired = true;
            var newest = entry.State is { } state ? state.LatestTimestamp : entry.LatestTicks == long.MinValue ? null : new DateTimeOffset(entry.LatestTicks, TimeSpan.Zero);
            if (newest is { } ticks) MoveNewest(ticks, null);
            if (entry.State is not null) Interlocked.Add(ref _hotBytes, -entry.Bytes);
            entry.State = null;
        }
        return true;
    }

    /// <summary>Runs <paramref name="action"/> on the user's state under its lock, loading a cold one first; true when it changed the state.</summary>
    private void WithState(string userId, bool create, Func<ProfileState, bool> action)
    {
        while (true)
        {
            Entry? entry;
            if (create) entry = _entries.GetOrAdd(userId, static _ => new Entry());
            else if (!_entries.TryGetValue(userId, out entry)) return;
            lock (entry)
            {
                // Removed between lookup and lock: look again (a fresh entry, or none).
                if (entry.Retired) continue;
                var state = entry.State;
                var transient = false;
                if (state is null)
                {
                    // A fresh entry (never stored) starts empty; a cold one is read back as it was stored.
                    state = entry.Cold ? Load(userId, entry) : new ProfileState(Options);
                    // Reads do not evict. Once the hot states fill the budget, a read of a stored cold shopper is answered
                    // from a copy dropped afterwards: uniformly random reads at a million shoppers then neither churn the
                    // hot set nor hand the collector a decoded state to promote on every request. Writes, and states
                    // rebuilt from the log (costly to build again), are always held.
                    var stored = entry.Cold && entry.StoredVersion >= 0;
                    var bytes = state.EstimatedBytes();
                    // Admitted only where it fits under the level a sweep brings the hot states down to, so no read ever
                    // makes a sweep drop another shopper.
                    transient = stored && !create && HotBytes + bytes > AdmitBelowBytes;
                    if (!transient) MakeHot(userId, entry, state, bytes);
                    // A stored state that became hot can be dropped again: a sweep that came up short may now succeed.
                    if (stored && !transient) Volatile.Write(ref _sweepMayHelp, true);
                }
                if (!transient) entry.Referenced = true;
                if (action(state))
                {
                    // Reads never change a state; should one, the change is held, not dropped with the copy.
                    if (transient) MakeHot(userId, entry, state, state.EstimatedBytes());
                    // After the change and inside the lock: whoever reads this number then reads (under the lock) at
                    // least this change, so an answer is never cached under a number newer than its data.
                    Volatile.Write(ref entry.Change, Interlocked.Increment(ref _lastChange));
                    var bytes = state.EstimatedBytes();
                    Interlocked.Add(ref _hotBytes, bytes - entry.Bytes);
                    entry.Bytes = bytes;
                }
                break;
            }
        }
        TrimAfterTouch();
    }

    private ProfileState Load(string userId, Entry entry)
    {
        var state = (_cold ?? throw new InvalidOperationException("A cold shopper needs an IColdStateLoader.")).Load(userId, out var stored);
        entry.StoredVersion = stored ? state.AppliedEvents : -1;
        Interlocked.Increment(ref _loads);
        return state;
    }

    /// <summary>The level a sweep brings the hot states down to; reads admit a cold shopper only below it.</summary>
    private long AdmitBelowBytes => _hotBudgetBytes / 10 * 9;

    /// <summary>Under the entry's lock: holds <paramref name="state"/> in memory and puts the entry on the clock.</summary>
    private void MakeHot(string userId, Entry entry, ProfileState state, int bytes)
    {
        entry.State = state;
        entry.Cold = false;
        entry.Bytes = bytes;
        Interlocked.Add(ref _hotBytes, entry.Bytes);
        if (entry.InClock) return;
        entry.InClock = true;
        _clock.Enqueue((userId, entry));
    }

    /// <summary>Moves one shopper's newest event time in the multiset and recomputes the clock.</summary>
    private void MoveNewest(DateTimeOffset? from, DateTimeOffset? to) => _shopClock.Move(from, to);

    /// <summary>One shopper's slot; every field is read and written under the entry's lock.</summary>
    private sealed class Entry
    {
        /// <summary>The state in memory; null while cold (stored only) or before the first event.</summary>
        public ProfileState? State;
        /// <summary>The version (<see cref="ProfileState.AppliedEvents"/>) of the stored record; -1 when none is known.</summary>
        public long StoredVersion = -1;
        /// <summary>Newest event time of a cold state (the clock needs it to forget the shopper).</summary>
        public long LatestTicks = long.MinValue;
        /// <summary>Estimated bytes of <see cref="State"/>, as counted in the book's hot bytes.</summary>
        public int Bytes;
        /// <summary>Touched since the clock hand last passed.</summary>
        public bool Referenced;
        public bool InClock;
        /// <summary>The state is in the store only: the next touch loads it.</summary>
        public bool Cold;
        public bool Retired;
        /// <summary>See <see cref="ChangeOf"/>; read without the lock.</summary>
        public long Change;
    }
}
