using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using Persona.Abstractions;

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
/// </remarks>
public sealed class ProfileBook
{
    private readonly ConcurrentDictionary<string, Entry> _entries = new(StringComparer.Ordinal);
    private readonly ProfileBuilder _builder;
    private CatalogSnapshot _catalog;
    private long _clockTicks = long.MinValue;
    // Every shopper's newest event time, as a multiset (distinct ticks → shoppers), for the quorum clock.
    // Updated under the shopper's entry lock, then this one (never the other way round).
    private readonly Lock _clockLock = new();
    private readonly SortedSet<long> _newestTicks = [];
    private readonly Dictionary<long, int> _newestCounts = [];
    private int _clockShoppers;

    public ProfileBook(ProfileOptions? options = null, CatalogSnapshot? catalog = null)
    {
        Options = options ?? new ProfileOptions();
        var problems = Options.Validate();
        if (problems.Count > 0) throw new ArgumentException(string.Join(" ", problems), nameof(options));
        _builder = new ProfileBuilder(Options);
        _catalog = catalog ?? CatalogSnapshot.Empty;
    }

    public ProfileOptions Options { get; }

    /// <summary>The catalog used by <see cref="Apply(IReadOnlyList{StoredEvent})"/> and <see cref="Build(string, DateTimeOffset?)"/>; swap it when items change.</summary>
    public CatalogSnapshot Catalog
    {
        get => Volatile.Read(ref _catalog);
        set => Volatile.Write(ref _catalog, value ?? throw new ArgumentNullException(nameof(value)));
    }

    /// <summary>The shop clock: the newest time the quorum of shoppers has reached (see remarks); null while empty.</summary>
    public DateTimeOffset? DataClock
    {
        get
        {
            var ticks = Interlocked.Read(ref _clockTicks);
            return ticks == long.MinValue ? null : new DateTimeOffset(ticks, TimeSpan.Zero);
        }
    }

    /// <summary>Users with a state (a snapshot of the keys).</summary>
    public IReadOnlyCollection<string> Users => _entries.Keys.ToArray();

    public int Count => _entries.Count;

    /// <summary>Applies events against the current <see cref="Catalog"/>; see <see cref="Apply(IReadOnlyList{StoredEvent}, CatalogSnapshot)"/>.</summary>
    public IReadOnlyList<string> Apply(IReadOnlyList<StoredEvent> events) => Apply(events, Catalog);

    /// <summary>
    /// Applies stored events, grouped by user, each user's in the order given (the order does not change the
    /// result). Returns the users touched, in order of first appearance, so the caller can rebuild and save
    /// their profiles. Apply each stored event once.
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
    /// Puts a state read from a checkpoint in place for a user who has none yet (start-up, or a cold shopper
    /// loaded on first touch); false when the user already has a state, which is then left as it is.
    /// </summary>
    public bool Restore(string userId, ProfileState state)
    {
        ArgumentNullException.ThrowIfNull(userId);
        ArgumentNullException.ThrowIfNull(state);
        var entry = new Entry(state);
        lock (entry)
        {
            if (!_entries.TryAdd(userId, entry)) return false;
            if (state.LatestTimestamp is { } newest) MoveNewest(null, newest);
        }
        return true;
    }

    /// <summary>
    /// The user's state as a checkpoint record (see <see cref="ProfileState.Encode"/>) with the sequence it reaches;
    /// null when the user has none.
    /// </summary>
    public (byte[] Record, long ThroughSequence)? Encode(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        (byte[], long)? encoded = null;
        WithState(userId, create: false, s =>
        {
            encoded = (s.Encode(), s.ThroughSequence);
            return true;
        });
        return encoded;
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
            return true;
        });
        state = copy;
        return state is not null;
    }

    /// <summary>The user's profile version (events applied), 0 when unknown.</summary>
    public long VersionOf(string userId)
    {
        ArgumentNullException.ThrowIfNull(userId);
        long version = 0;
        WithState(userId, create: false, s =>
        {
            version = s.AppliedEvents;
            return true;
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
            var at = asOf ?? DataClock ?? s.LatestTimestamp ?? DateTimeOffset.UnixEpoch;
            if (s.LatestTimestamp is { } own && own > at) at = own;
            profile = _builder.Build(userId, s, catalog, at, s.AppliedEvents);
            return true;
        });
        return profile;
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
            if (entry.State.LatestTimestamp is { } newest) MoveNewest(newest, null);
        }
        return true;
    }

    private void WithState(string userId, bool create, Func<ProfileState, bool> action)
    {
        while (true)
        {
            Entry? entry;
            if (create) entry = _entries.GetOrAdd(userId, _ => new Entry(new ProfileState(Options)));
            else if (!_entries.TryGetValue(userId, out entry)) return;
            lock (entry)
            {
                // Removed between lookup and lock: look again (a fresh entry, or none).
                if (entry.Retired) continue;
                action(entry.State);
                return;
            }
        }
    }

    /// <summary>Moves one shopper's newest event time in the multiset and recomputes the clock.</summary>
    private void MoveNewest(DateTimeOffset? from, DateTimeOffset? to)
    {
        lock (_clockLock)
        {
            if (from is { } old)
            {
                var ticks = old.UtcTicks;
                if (_newestCounts.TryGetValue(ticks, out var n))
                {
                    if (n == 1)
                    {
                        _newestCounts.Remove(ticks);
                        _newestTicks.Remove(ticks);
                    }
                    else _newestCounts[ticks] = n - 1;
                    _clockShoppers--;
                }
            }
            if (to is { } value)
            {
                var ticks = value.UtcTicks;
                if (_newestCounts.TryGetValue(ticks, out var n)) _newestCounts[ticks] = n + 1;
                else
                {
                    _newestCounts[ticks] = 1;
                    _newestTicks.Add(ticks);
                }
                _clockShoppers++;
            }
            Interlocked.Exchange(ref _clockTicks, QuorumTicks());
        }
    }

    /// <summary>The k-th newest shopper time, k = min(quorum, shoppers / 10) but at least 1. O(k + log n).</summary>
    private long QuorumTicks()
    {
        if (_clockShoppers == 0) return long.MinValue;
        var k = Math.Max(1, Math.Min(Options.ClockQuorum, _clockShoppers / 10));
        var seen = 0;
        foreach (var ticks in _newestTicks.Reverse())
        {
            seen += _newestCounts[ticks];
            if (seen >= k) return ticks;
        }
        return _newestTicks.Min;
    }

    private sealed class Entry(ProfileState state)
    {
        public ProfileState State { get; } = state;
        public bool Retired { get; set; }
    }
}
