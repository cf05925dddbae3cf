using System.Collections.Concurrent;
using System.Diagnostics;

namespace Persona.Core.Ranking;

/// <summary>
/// What the cache checks an answer against: the state of everything shared (<see cref="Epoch"/>: catalog, model,
/// index) and of the key's own state (<see cref="Own"/>: a user's behaviour; 0 when there is none). An answer computed
/// under one stamp is served only under the same.
/// </summary>
public readonly record struct CacheStamp(long Epoch, long Own);

/// <summary>
/// Recent answers per key (a user for recommendations, a query for search candidates) and variant (the request's
/// other parameters). An answer is served while its <see cref="CacheStamp"/> still holds and for at most
/// <see cref="TimeToLive"/>: a user's own events change the stamp (so what they just did shows at once), and other
/// shoppers' activity, which moves shared counts without touching the stamp, shows within the time to live.
/// Bounded by two generations of keys: once the young one holds half the capacity the old one is dropped, so keys
/// read within the last generation stay (an approximate LRU without per-read bookkeeping). Lock-free reads.
/// </summary>
public sealed class AnswerCache<TValue> where TValue : class
{
    /// <summary>Different variants (n, filters) remembered per key; a new one replaces the oldest.</summary>
    public const int VariantsPerKey = 4;

    private readonly long _timeToLiveTicks;
    private readonly int _generationSize;
    private readonly Lock _swapLock = new();
    private volatile ConcurrentDictionary<string, Slot[]> _young = new(StringComparer.Ordinal);
    private volatile ConcurrentDictionary<string, Slot[]> _old = new(StringComparer.Ordinal);

    public AnswerCache(TimeSpan timeToLive, int capacity)
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

    /// <summary>Keys with at least one answer held (both generations; a key may be counted twice).</summary>
    public int Count => _young.Count + _old.Count;

    public bool TryGet(string key, string variant, CacheStamp stamp, out TValue value)
    {
        value = null!;
        if (!Enabled) return false;
        var now = Stopwatch.GetTimestamp();
        if (Find(_young, key, variant, stamp, now) is { } hit)
        {
            value = hit;
            return true;
        }
        if (_old.TryGetValue(key, out var slots) && Match(slots, variant, stamp, now) is { } promoted)
        {
            // Still read: carry the key's answers into the young generation so the next swap keeps them.
            _young.TryAdd(key, slots);
            value = promoted;
            return true;
        }
        return false;
    }

    public void Set(string key, string variant, CacheStamp stamp, TValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (!Enabled) return;
        var slot = new Slot(variant, stamp, Stopwatch.GetTimestamp(), value);
        var young = _young;
        young.AddOrUpdate(key, static (_, s) => [s], static (_, slots, s) => With(slots, s), slot);
        if (young.Count < _generationSize) return;
        lock (_swapLock)
        {
            if (!ReferenceEquals(young, _young)) return;
            _old = young;
            _young = new ConcurrentDictionary<string, Slot[]>(StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// The held answer, else <paramref name="compute"/>'s, held from then on. One computation per key, variant and stamp
    /// at a time: callers that ask for an answer being computed wait for it (when a popular query is new, the clients
    /// asking for it together would otherwise each compute it on the same cores). A failure is not held: the next call
    /// computes again.
    /// </summary>
    public TValue GetOrCompute(string key, string variant, CacheStamp stamp, Func<TValue> compute)
    {
        ArgumentNullException.ThrowIfNull(compute);
        if (TryGet(key, variant, stamp, out var held)) return held;
        var id = (key, variant, stamp);
        var computing = _computing.GetOrAdd(id, _ => new Lazy<TValue>(() =>
        {
            var value = compute();
            Set(key, variant, stamp, value);
            return value;
        }, LazyThreadSafetyMode.ExecutionAndPublication));
        try
        {
            return computing.Value;
        }
        finally
        {
            _computing.TryRemove(KeyValuePair.Create(id, computing));
        }
    }

    private readonly ConcurrentDictionary<(string Key, string Variant, CacheStamp Stamp), Lazy<TValue>> _computing = new();

    /// <summary>Forgets every answer held for the key; returns how many there were.</summary>
    public int Remove(string key)
    {
        lock (_swapLock)
        {
            var removed = 0;
            if (_young.TryRemove(key, out var young)) removed += young.Length;
            if (_old.TryRemove(key, out var old)) removed += old.Length;
            return removed;
        }
    }

    private TValue? Find(ConcurrentDictionary<string, Slot[]> generation, string key, string variant, CacheStamp stamp, long now) =>
        generation.TryGetValue(key, out var slots) ? Match(slots, variant, stamp, now) : null;

    private TValue? Match(Slot[] slots, string variant, CacheStamp stamp, long now)
    {
        foreach (var slot in slots)
            if (slot.Stamp == stamp && now - slot.CreatedAt < _timeToLiveTicks && string.Equals(slot.Variant, variant, StringComparison.Ordinal))
                return slot.Value;
        return null;
    }

    private static Slot[] With(Slot[] slots, Slot slot)
    {
        var kept = new List<Slot>(VariantsPerKey) { slot };
        foreach (var s in slots)
            if (kept.Count < VariantsPerKey && !string.Equals(s.Variant, slot.Variant, StringComparison.Ordinal)) kept.Add(s);
        return [.. kept];
    }

    private sealed record Slot(string Variant, CacheStamp Stamp, long CreatedAt, TValue Value);
}
