using Persona.Core.State;

namespace Persona.Core.Profiles;

/// <summary>
/// The K greatest (timestamp, id) pairs seen: a set that does not depend on the order events arrive in.
/// Kept sorted, newest first; insertion is O(K).
/// </summary>
internal sealed class RecentEvidence
{
    private static readonly (long Ticks, string Id)[] None = [];
    // Newest first; grows to the capacity as entries arrive (most lists hold fewer than their bound, many none).
    private (long Ticks, string Id)[] _entries = None;
    private readonly int _capacity;
    private int _count;
    // Characters of the ids held, for the heap estimate (an event id is often a 30–40 character string).
    private int _idChars;

    public RecentEvidence(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _capacity = capacity;
    }

    public int Count => _count;

    /// <summary>Heap bytes of the entries: a 16-byte slot and an id string each (the list object itself not counted).</summary>
    public int EntryBytes => _count * (16 + 26) + 2 * _idChars;

    public void Add(long ticks, string id)
    {
        var position = _count;
        while (position > 0 && IsNewer(ticks, id, _entries[position - 1].Ticks, _entries[position - 1].Id)) position--;
        if (position >= _capacity) return;
        // Ids are unique per store; an id already kept means the same event was applied twice.
        for (var i = 0; i < _count; i++)
        {
            if (_entries[i].Ticks == ticks && string.Equals(_entries[i].Id, id, StringComparison.Ordinal)) return;
        }
        if (_count < _capacity && _count == _entries.Length) Array.Resize(ref _entries, Math.Min(_capacity, Math.Max(1, _count * 2)));
        var last = Math.Min(_count, _capacity - 1);
        if (_count == _capacity) _idChars -= _entries[last].Id.Length;
        for (var i = last; i > position; i--) _entries[i] = _entries[i - 1];
        _entries[position] = (ticks, id);
        _idChars += id.Length;
        if (_count < _capacity) _count++;
    }

    /// <summary>Ids, newest first.</summary>
    public string[] Ids()
    {
        var ids = new string[_count];
        for (var i = 0; i < ids.Length; i++) ids[i] = _entries[i].Id;
        return ids;
    }

    /// <summary>Count, newest ticks, then each older one as a non-negative step back, and the ids.</summary>
    public void Write(StateWriter writer)
    {
        writer.WriteCount(_count);
        for (var i = 0; i < _count; i++)
        {
            if (i == 0) writer.WriteInt64(_entries[0].Ticks);
            else writer.WriteCount(_entries[i - 1].Ticks - _entries[i].Ticks);
            writer.WriteString(_entries[i].Id);
        }
    }

    public static RecentEvidence Read(StateReader reader, int capacity)
    {
        var count = reader.ReadCount(maximum: capacity);
        var evidence = new RecentEvidence(capacity) { _count = count, _entries = count == 0 ? None : new (long, string)[count] };
        for (var i = 0; i < count; i++)
        {
            var ticks = i == 0 ? reader.ReadInt64() : checked(evidence._entries[i - 1].Ticks - reader.ReadLongCount());
            evidence._entries[i] = (ticks, reader.ReadString());
            evidence._idChars += evidence._entries[i].Id.Length;
        }
        return evidence;
    }

    public RecentEvidence Clone() =>
        new(_capacity) { _count = _count, _idChars = _idChars, _entries = _count == 0 ? None : _entries.AsSpan(0, _count).ToArray() };

    private static bool IsNewer(long ticks, string id, long otherTicks, string otherId) =>
        ticks > otherTicks || (ticks == otherTicks && string.CompareOrdinal(id, otherId) > 0);
}

/// <summary>
/// A sum of weights decayed exponentially, anchored at the newest timestamp it has seen: on a newer event
/// the sum is rescaled by exp(-λΔ) before the weight is added, on an older one the weight is added times
/// exp(-λΔ). Either way the sum equals Σ wᵢ·exp(-λ(anchor − tᵢ)) whatever the order of the events.
/// </summary>
internal sealed class DecayedScore
{
    public DecayedScore(int level, int evidenceCapacity)
    {
        Level = level;
        Evidence = new RecentEvidence(evidenceCapacity);
    }

    private DecayedScore(int level, double sum, long anchorTicks, RecentEvidence evidence)
    {
        Level = level;
        Sum = sum;
        AnchorTicks = anchorTicks;
        Evidence = evidence;
    }

    public int Level { get; }
    public double Sum { get; private set; }
    public long AnchorTicks { get; private set; } = long.MinValue;
    public RecentEvidence Evidence { get; }

    public void Add(double weight, long ticks, double lambdaPerDay, string eventId)
    {
        if (AnchorTicks == long.MinValue)
        {
            Sum = weight;
            AnchorTicks = ticks;
        }
        else if (ticks > AnchorTicks)
        {
            Sum = Sum * Math.Exp(-lambdaPerDay * DaysBetween(AnchorTicks, ticks)) + weight;
            AnchorTicks = ticks;
        }
        else
        {
            Sum += weight * Math.Exp(-lambdaPerDay * DaysBetween(ticks, AnchorTicks));
        }
        Evidence.Add(ticks, eventId);
    }

    /// <summary>
    /// The sum decayed to <paramref name="asOfTicks"/>; for an instant before the anchor, the sum at the
    /// anchor (never grown, so a far-past instant cannot overflow).
    /// </summary>
    public double ValueAt(long asOfTicks, double lambdaPerDay) =>
        asOfTicks <= AnchorTicks ? Sum : Sum * Math.Exp(-lambdaPerDay * DaysBetween(AnchorTicks, asOfTicks));

    public DecayedScore Clone() => new(Level, Sum, AnchorTicks, Evidence.Clone());

    public void Write(StateWriter writer)
    {
        writer.WriteCount(Level);
        writer.WriteDouble(Sum);
        writer.WriteInt64(AnchorTicks);
        Evidence.Write(writer);
    }

    public static DecayedScore Read(StateReader reader, int evidenceCapacity) =>
        new(reader.ReadCount(maximum: 64), reader.ReadDouble(), reader.ReadInt64(), RecentEvidence.Read(reader, evidenceCapacity));

    private static double DaysBetween(long fromTicks, long toTicks) =>
        (toTicks - fromTicks) / (double)TimeSpan.TicksPerDay;
}

/// <summary>
/// Exact set of UTC day numbers as a bitset over the span between the first and last day seen:
/// 8 bytes per 64 days of span (about 46 bytes per year).
/// </summary>
internal sealed class DaySet
{
    private ulong[] _words = [];
    private int _baseDay;

    public int Count { get; private set; }

    /// <summary>Words of the bitset (8 bytes each).</summary>
    public int Words => _words.Length;

    public void Add(int day)
    {
        if (_words.Length == 0)
        {
            _baseDay = day & ~63;
            _words = new ulong[1];
        }
        if (day < _baseDay)
        {
            var newBase = day & ~63;
            var shift = (_baseDay - newBase) >> 6;
            var grown = new ulong[_words.Length + shift];
            _words.CopyTo(grown, shift);
            _words = grown;
            _baseDay = newBase;
        }
        var offset = day - _baseDay;
        var word = offset >> 6;
        if (word >= _words.Length) Array.Resize(ref _words, Math.Max(word + 1, _words.Length * 2));
        var mask = 1UL << (offset & 63);
        if ((_words[word] & mask) != 0) return;
        _words[word] |= mask;
        Count++;
    }

    public DaySet Clone() => new() { _words = (ulong[])_words.Clone(), _baseDay = _baseDay, Count = Count };

    /// <summary>Only the words up to the last one in use (the array grows by doubling).</summary>
    public void Write(StateWriter writer)
    {
        var used = _words.Length;
        while (used > 0 && _words[used - 1] == 0) used--;
        writer.WriteCount(used);
        if (used == 0) return;
        writer.WriteSigned(_baseDay);
        for (var i = 0; i < used; i++) writer.WriteInt64((long)_words[i]);
    }

    public static DaySet Read(StateReader reader)
    {
        var used = reader.ReadCount(maximum: 1 << 20);
        if (used == 0) return new DaySet();
        var set = new DaySet { _baseDay = checked((int)reader.ReadSigned()), _words = new ulong[used] };
        var count = 0;
        for (var i = 0; i < used; i++)
        {
            set._words[i] = (ulong)reader.ReadInt64();
            count += System.Numerics.BitOperations.PopCount(set._words[i]);
        }
        set.Count = count;
        return set;
    }
}

/// <summary>
/// Activity per UTC day over the <see cref="Days"/> days ending at the newest day seen, in a ring:
/// O(1) per event, fixed memory, and the counts inside the final window do not depend on arrival order
/// (an event inside it was inside the window when it arrived, and a slot is cleared only when its day
/// leaves the window).
/// </summary>
internal sealed class DayRing
{
    public const int Days = ProfileState.RecentWindowDays;

    private int[]? _counts;
    private int _newestDay;

    public void Add(int day)
    {
        if (_counts is null)
        {
            _counts = new int[Days];
            _newestDay = day;
        }
        else if (day > _newestDay)
        {
            var clear = Math.Min(day - _newestDay, Days);
            for (var d = day - clear + 1; d <= day; d++) _counts[d % Days] = 0;
            _newestDay = day;
        }
        else if (day <= _newestDay - Days)
        {
            return;
        }
        _counts[day % Days]++;
    }

    /// <summary>Events on days <paramref name="fromDay"/>..<paramref name="toDay"/> (inclusive) that lie inside the window.</summary>
    public long Count(int fromDay, int toDay)
    {
        if (_counts is null) return 0;
        var from = Math.Max(fromDay, _newestDay - Days + 1);
        var to = Math.Min(toDay, _newestDay);
        long sum = 0;
        for (var d = from; d <= to; d++) sum += _counts[d % Days];
        return sum;
    }

    public DayRing Clone() => new() { _counts = (int[]?)_counts?.Clone(), _newestDay = _newestDay };

    public void Write(StateWriter writer)
    {
        if (_counts is null)
        {
            writer.WriteCount(0);
            return;
        }
        writer.WriteCount(1);
        writer.WriteSigned(_newestDay);
        foreach (var count in _counts) writer.WriteCount(count);
    }

    public static DayRing Read(StateReader reader)
    {
        if (reader.ReadCount(maximum: 1) == 0) return new DayRing();
        var ring = new DayRing { _newestDay = checked((int)reader.ReadSigned()), _counts = new int[Days] };
        for (var i = 0; i < Days; i++) ring._counts[i] = reader.ReadCount(maximum: int.MaxValue);
        return ring;
    }
}

/// <summary>
/// Counts per string key for at most <c>capacity</c> keys: the ordinally smallest keys seen are kept, a
/// set that does not depend on arrival order, and a kept key's count is exact (it was never evicted).
/// <see cref="Total"/> counts every key.
/// </summary>
internal sealed class KeyCounts(int capacity)
{
    private readonly int _capacity = capacity;
    private readonly SortedList<string, long> _counts = new(StringComparer.Ordinal);

    public long Total { get; private set; }
    public int Count => _counts.Count;
    public IEnumerable<KeyValuePair<string, long>> Entries => _counts;

    public void Add(string key)
    {
        Total++;
        if (_counts.TryGetValue(key, out var count))
        {
            _counts[key] = count + 1;
            return;
        }
        if (_counts.Count >= _capacity)
        {
            if (string.CompareOrdinal(key, _counts.Keys[^1]) > 0) return;
            _counts.RemoveAt(_counts.Count - 1);
        }
        _counts.Add(key, 1);
    }

    /// <summary>The key with the highest count, the ordinally smallest on a tie; null when none.</summary>
    public string? Top()
    {
        string? best = null;
        long bestCount = 0;
        foreach (var (key, count) in _counts)
        {
            if (count > bestCount)
            {
                best = key;
                bestCount = count;
            }
        }
        return best;
    }

    public void Write(StateWriter writer)
    {
        writer.WriteCount(Total);
        writer.WriteCount(_counts.Count);
        foreach (var (key, count) in _counts)
        {
            writer.WriteString(key);
            writer.WriteCount(count);
        }
    }

    public static KeyCounts Read(StateReader reader, int capacity)
    {
        var keys = new KeyCounts(capacity) { Total = reader.ReadLongCount() };
        var n = reader.ReadCount(maximum: capacity);
        for (var i = 0; i < n; i++)
        {
            var key = reader.ReadString();
            if (!keys._counts.TryAdd(key, reader.ReadLongCount())) throw new InvalidDataException($"Key '{key}' appears twice in a state record.");
        }
        return keys;
    }

    public KeyCounts Clone()
    {
        var copy = new KeyCounts(_capacity) { Total = Total };
        foreach (var (key, count) in _counts) copy._counts.Add(key, count);
        return copy;
    }
}

/// <summary>
/// Sum and count of price percentiles for one group of event types. The sum is a decimal so that it is
/// exact, hence the same whatever order the events came in (a tier threshold can then never be crossed by
/// rounding alone).
/// </summary>
internal struct PercentileStats
{
    public decimal Sum;
    public long Count;

    public void Add(double percentile)
    {
        Sum += (decimal)percentile;
        Count++;
    }

    public readonly double? Mean => Count == 0 ? null : (double)(Sum / Count);

    public readonly void Write(StateWriter writer)
    {
        writer.WriteDecimal(Sum);
        writer.WriteCount(Count);
    }

    public static PercentileStats Read(StateReader reader) => new() { Sum = reader.ReadDecimal(), Count = reader.ReadLongCount() };
}
