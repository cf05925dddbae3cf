using Persona.Core.State;

namespace Persona.Core.Retrieval;

/// <summary>
/// One item's pairs in <see cref="ItemPairs"/>: (other item, times it followed, times it preceded), 12 bytes each in
/// one array sorted by the other item's id. Lookups are binary searches; a new pair is inserted in place. Not
/// thread-safe: <see cref="ItemPairs"/> guards it.
/// </summary>
internal sealed class PairRow
{
    internal readonly record struct Pair(int Id, int Forward, int Backward)
    {
        public long Together => (long)Forward + Backward;
    }

    private Pair[] _pairs;

    public PairRow() => _pairs = new Pair[4];

    private PairRow(Pair[] pairs, int count) => (_pairs, Count) = (pairs, count);

    /// <summary>A row of these pairs (any order, each id once); <paramref name="ids"/> holds their ids, in the same order, as sort keys.</summary>
    public static PairRow From(Span<int> ids, Span<Pair> pairs)
    {
        // Sorted by the int keys beside them: a restore into another numbering sorts a million rows.
        ids.Sort(pairs);
        for (var i = 1; i < ids.Length; i++)
            if (ids[i] == ids[i - 1]) throw new InvalidDataException("A pair is listed twice.");
        return new PairRow(pairs.ToArray(), pairs.Length);
    }

    public int Count { get; private set; }

    public int IdAt(int index) => _pairs[index].Id;

    public int ForwardAt(int index) => _pairs[index].Forward;

    public int BackwardAt(int index) => _pairs[index].Backward;

    public float TogetherAt(int index) => _pairs[index].Together;

    /// <summary>The pair's index, or the complement of where it would go (negative).</summary>
    public int Find(int id)
    {
        int lo = 0, hi = Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) >>> 1;
            var at = _pairs[mid].Id;
            if (at == id) return mid;
            if (at < id) lo = mid + 1;
            else hi = mid - 1;
        }
        return ~lo;
    }

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
            var pair = _pairs[i];
            if (pair.Forward == 0) continue;
            keys[n] = (long)(int.MaxValue - pair.Forward) << 32 | (uint)(tieRank[pair.Id] ^ int.MinValue);
            ids[n++] = pair.Id;
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
        var at = Count > 0 && id > _pairs[Count - 1].Id ? ~Count : Find(id);
        if (at >= 0)
        {
            ref var pair = ref _pairs[at];
            pair = pair with { Forward = pair.Forward + forward, Backward = pair.Backward + backward };
            return;
        }
        at = ~at;
        if (Count == _pairs.Length) Array.Resize(ref _pairs, Count + Count / 2 + 1);
        Array.Copy(_pairs, at, _pairs, at + 1, Count - at);
        _pairs[at] = new Pair(id, forward, backward);
        Count++;
        if (Count > 2 * keep) Trim(keep, tieRank, items);
    }

    private void Trim(int keep, int[] tieRank, KeyInterner items)
    {
        var order = _pairs.AsSpan(0, Count).ToArray();
        Array.Sort(order, (a, b) =>
        {
            var byCount = b.Together.CompareTo(a.Together);
            if (byCount != 0) return byCount;
            var byRank = tieRank[a.Id].CompareTo(tieRank[b.Id]);
            return byRank != 0 ? byRank : string.CompareOrdinal(items.KeyOf(a.Id), items.KeyOf(b.Id));
        });
        var kept = new Pair[keep + keep / 2];
        order.AsSpan(0, keep).CopyTo(kept);
        Array.Sort(kept, 0, keep, Comparer<Pair>.Create(static (a, b) => a.Id.CompareTo(b.Id)));
        (_pairs, Count) = (kept, keep);
    }
}
