using Persona.Core.State;

namespace Persona.Core.Retrieval;

/// <summary>
/// One item's pairs in <see cref="ItemPairs"/>: (other item, times it followed, times it preceded), sorted by the other
/// item's id. Most pairs are seen a few times, so both counts share 32 bits (16 each: 8 bytes a pair with the id); the
/// first count past 65,535 widens the row to 32 bits each (12 bytes a pair). Lookups are binary searches; a new pair is
/// inserted in place. Not thread-safe: <see cref="ItemPairs"/> guards it.
/// </summary>
internal sealed class PairRow
{
    internal readonly record struct Pair(int Id, int Forward, int Backward)
    {
        public long Together => (long)Forward + Backward;
    }

    private const int NarrowMax = ushort.MaxValue;

    private int[] _ids;
    // Exactly one is set: forward | backward << 16, or forward | backward << 32 once a count outgrew 16 bits.
    private uint[]? _narrow;
    private ulong[]? _wide;

    public PairRow()
    {
        _ids = new int[4];
        _narrow = new uint[4];
    }

    /// <summary>A row of these pairs (any order, each id once); <paramref name="ids"/> holds their ids, in the same order, as sort keys.</summary>
    public static PairRow From(Span<int> ids, Span<Pair> pairs)
    {
        // Sorted by the int keys beside them: a restore into another numbering sorts a million rows.
        ids.Sort(pairs);
        for (var i = 1; i < ids.Length; i++)
            if (ids[i] == ids[i - 1]) throw new InvalidDataException("A pair is listed twice.");
        var row = new PairRow { _ids = ids.ToArray(), Count = ids.Length };
        var narrow = true;
        foreach (var pair in pairs) narrow &= pair.Forward is >= 0 and <= NarrowMax && pair.Backward is >= 0 and <= NarrowMax;
        if (narrow)
        {
            row._narrow = new uint[pairs.Length];
            for (var i = 0; i < pairs.Length; i++) row._narrow[i] = Narrow(pairs[i].Forward, pairs[i].Backward);
        }
        else
        {
            row._narrow = null;
            row._wide = new ulong[pairs.Length];
            for (var i = 0; i < pairs.Length; i++) row._wide[i] = Wide(pairs[i].Forward, pairs[i].Backward);
        }
        return row;
    }

    public int Count { get; private set; }

    public int IdAt(int index) => _ids[index];

    public int ForwardAt(int index) => _narrow is { } narrow ? (int)(narrow[index] & 0xFFFF) : (int)(uint)_wide![index];

    public int BackwardAt(int index) => _narrow is { } narrow ? (int)(narrow[index] >> 16) : (int)(_wide![index] >> 32);

    public float TogetherAt(int index) => _narrow is { } narrow
        ? (narrow[index] & 0xFFFF) + (narrow[index] >> 16)
        : (float)((long)(uint)_wide![index] + (long)(_wide[index] >> 32));

    private long TogetherLongAt(int index) => (long)ForwardAt(index) + BackwardAt(index);

    private static uint Narrow(int forward, int backward) => (uint)forward | (uint)backward << 16;

    private static ulong Wide(int forward, int backward) => (uint)forward | (ulong)(uint)backward << 32;

    /// <summary>The pair's index, or the complement of where it would go (negative).</summary>
    public int Find(int id) => Array.BinarySearch(_ids, 0, Count, id);

    /// <summary>
    /// The pairs with a forward count as sort keys, ascending = most often followed first, ties by
    /// <paramref name="tieRank"/>: (int.MaxValue - count) &lt;&lt; 32 | rank as unsigned; the other items' ids beside them.
    /// Returns how many.
    /// </summary>
    public int CopyForward(Span<long> keys, Span<int> ids, int[] tieRank)
    {
        var n = 0;
        for (var i = 0; i < Count; i++)
        {
            var forward = ForwardAt(i);
            if (forward == 0) continue;
            keys[n] = (long)(int.MaxValue - forward) << 32 | (uint)(tieRank[_ids[i]] ^ int.MinValue);
            ids[n++] = _ids[i];
        }
        return n;
    }

    /// <summary>
    /// Adds to the pair with <paramref name="id"/> (a new pair starts at the counts), then, when the row holds more than
    /// twice <paramref name="keep"/> pairs, cuts it back to the <paramref name="keep"/> that were most often together
    /// (ties: smaller <paramref name="tieRank"/>, then the item id, ordinal; never the numbering), so the cost stays
    /// amortised O(1) per increment and a restored row is cut exactly as the replayed one.
    /// </summary>
    public void Add(int id, int forward, int backward, int keep, int[] tieRank, KeyInterner items)
    {
        var at = Count > 0 && id > _ids[Count - 1] ? ~Count : Find(id);
        if (at >= 0)
        {
            Set(at, ForwardAt(at) + forward, BackwardAt(at) + backward);
            return;
        }
        at = ~at;
        if (Count == _ids.Length)
        {
            var size = Count + Count / 2 + 1;
            Array.Resize(ref _ids, size);
            if (_narrow is not null) Array.Resize(ref _narrow, size);
            else Array.Resize(ref _wide, size);
        }
        Array.Copy(_ids, at, _ids, at + 1, Count - at);
        if (_narrow is not null) Array.Copy(_narrow, at, _narrow, at + 1, Count - at);
        else Array.Copy(_wide!, at, _wide!, at + 1, Count - at);
        _ids[at] = id;
        Count++;
        Set(at, forward, backward);
        if (Count > 2 * keep) Trim(keep, tieRank, items);
    }

    private void Set(int at, int forward, int backward)
    {
        if (_narrow is not null && (forward > NarrowMax || backward > NarrowMax)) Widen();
        if (_narrow is not null) _narrow[at] = Narrow(forward, backward);
        else _wide![at] = Wide(forward, backward);
    }

    private void Widen()
    {
        var wide = new ulong[_ids.Length];
        for (var i = 0; i < Count; i++) wide[i] = Wide(ForwardAt(i), BackwardAt(i));
        (_wide, _narrow) = (wide, null);
    }

    private void Trim(int keep, int[] tieRank, KeyInterner items)
    {
        var order = new int[Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        Array.Sort(order, (a, b) =>
        {
            var byCount = TogetherLongAt(b).CompareTo(TogetherLongAt(a));
            if (byCount != 0) return byCount;
            var byRank = tieRank[_ids[a]].CompareTo(tieRank[_ids[b]]);
            return byRank != 0 ? byRank : string.CompareOrdinal(items.KeyOf(_ids[a]), items.KeyOf(_ids[b]));
        });
        var kept = order.AsSpan(0, keep).ToArray();
        Array.Sort(kept);
        var capacity = keep + keep / 2;
        var ids = new int[capacity];
        for (var i = 0; i < keep; i++) ids[i] = _ids[kept[i]];
        if (_narrow is not null)
        {
            var narrow = new uint[capacity];
            for (var i = 0; i < keep; i++) narrow[i] = _narrow[kept[i]];
            _narrow = narrow;
        }
        else
        {
            var wide = new ulong[capacity];
            for (var i = 0; i < keep; i++) wide[i] = _wide![kept[i]];
            _wide = wide;
        }
        (_ids, Count) = (ids, keep);
    }
}
