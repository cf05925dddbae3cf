using System.Collections.Concurrent;
using System.Diagnostics;

namespace Persona.Core.Ranking;

/// <summary>
/// What the cache checks an answer against: the state of everything shared (<see cref="Epoch"/>: catalog, model) and
/// of the user's own behaviour (<see cref="User"/>). An answer computed under one stamp is served only under the same.
/// </summary>
public readonly record struct CacheStamp(long Epoch, long User);

/// <summary>
/// Recent answers per user and query. An answer is served while its <see cref="CacheStamp"/> still holds and for at
/// most <see cref="TimeToLive"/>: the user's own events change the stamp (so what they just did shows at once), and
/// other shoppers' activity, which moves shared counts without touching the stamp, shows within the time to live.
/// Bounded by two generations of users: once the young one holds half the capacity the old one is dropped, so users
/// read within the last generation stay (an approximate LRU without per-read bookkeeping). Lock-free reads.
/// </summary>
public sealed class UserResultCache<TValue> where TValue : class
{
    /// <summary>Different queries (n, filters) remembered per user; a new one replaces the oldest.</summary>
    public const int QueriesPerUser = 4;

    private readonly long _timeToLiveTicks;
    private readonly int _generationSize;
    private readonly Lock _swapLock = new();
    private volatile ConcurrentDictionary<string, Slot[]> _young = new(StringComparer.Ordinal);
    private volatile ConcurrentDictionary<string, Slot[]> _old = new(StringComparer.Ordinal);

    public UserResultCache(TimeSpan timeToLive, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(timeToLive, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        TimeToLive = timeToLive;
        _timeToLiveTicks = (long)(timeToLive.TotalSeconds * Stopwatch.Frequency);
        _generationSize = capacity / 2;
    }

    public TimeSpan TimeToLive { get; }

    /// <summary>False when the time to live is zero: nothing is kept.</summary>
    public bool Enabled => _timeToLiveTicks > 0;

    /// <summary>Users with at least one answer held (both generations; a user may be counted twice).</summary>
    public int Count => _young.Count + _old.Count;

    public bool TryGet(string user, string query, CacheStamp stamp, out TValue value)
    {
        value = null!;
        if (!Enabled) return false;
        var now = Stopwatch.GetTimestamp();
        if (Find(_young, user, query, stamp, now) is { } hit)
        {
            value = hit;
            return true;
        }
        if (_old.TryGetValue(user, out var slots) && Match(slots, query, stamp, now) is { } promoted)
        {
            // Still read: carry the user's answers into the young generation so the next swap keeps them.
            _young.TryAdd(user, slots);
            value = promoted;
            return true;
        }
        return false;
    }

    public void Set(string user, string query, CacheStamp stamp, TValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!Enabled) return;
        var slot = new Slot(query, stamp, Stopwatch.GetTimestamp(), value);
        var young = _young;
        young.AddOrUpdate(user, static (_, s) => [s], static (_, slots, s) => With(slots, s), slot);
        if (young.Count < _generationSize) return;
        lock (_swapLock)
        {
            if (!ReferenceEquals(young, _young)) return;
            _old = young;
            _young = new ConcurrentDictionary<string, Slot[]>(StringComparer.Ordinal);
        }
    }

    /// <summary>Forgets every answer held for the user; returns how many there were.</summary>
    public int Remove(string user)
    {
        lock (_swapLock)
        {
            var removed = 0;
            if (_young.TryRemove(user, out var young)) removed += young.Length;
            if (_old.TryRemove(user, out var old)) removed += old.Length;
            return removed;
        }
    }

    private TValue? Find(ConcurrentDictionary<string, Slot[]> generation, string user, string query, CacheStamp stamp, long now) =>
        generation.TryGetValue(user, out var slots) ? Match(slots, query, stamp, now) : null;

    private TValue? Match(Slot[] slots, string query, CacheStamp stamp, long now)
    {
        foreach (var slot in slots)
            if (slot.Stamp == stamp && now - slot.CreatedAt < _timeToLiveTicks && string.Equals(slot.Query, query, StringComparison.Ordinal))
                return slot.Value;
        return null;
    }

    private static Slot[] With(Slot[] slots, Slot slot)
    {
        var kept = new List<Slot>(QueriesPerUser) { slot };
        foreach (var s in slots)
            if (kept.Count < QueriesPerUser && !string.Equals(s.Query, slot.Query, StringComparison.Ordinal)) kept.Add(s);
        return [.. kept];
    }

    private sealed record Slot(string Query, CacheStamp Stamp, long CreatedAt, TValue Value);
}
