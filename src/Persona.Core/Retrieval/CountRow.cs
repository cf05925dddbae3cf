using System.Numerics;

namespace Persona.Core.Retrieval;

/// <summary>
/// One item's counts towards other items (followers, neighbours), as two arrays sorted by item id: 8 bytes a pair
/// where a dictionary row costs about 24. Lookups are binary searches; a new pair is inserted in place. Not
/// thread-safe: the owning index guards it.
/// </summary>
internal sealed class CountRow<T> where T : struct, INumber<T>
{
    private int[] _ids = new int[4];
    private T[] _counts = new T[4];

    public int Count { get; private set; }

    public int IdAt(int index) => _ids[index];

    public T CountAt(int index) => _counts[index];

    public bool TryGet(int id, out T count)
    {
        var at = Array.BinarySearch(_ids, 0, Count, id);
        count = at >= 0 ? _counts[at] : T.Zero;
        return at >= 0;
    }

    /// <summary>Adds <paramref name="count"/> to the pair (a new pair starts at it).</summary>
    public void Add(int id, T count)
    {
        // Appending in id order (a restore) skips the search.
        var at = Count > 0 && id > _ids[Count - 1] ? ~Count : Array.BinarySearch(_ids, 0, Count, id);
        if (at >= 0)
        {
            _counts[at] += count;
            return;
        }
        at = ~at;
        if (Count == _ids.Length)
        {
            Array.Resize(ref _ids, Count + Count / 2 + 1);
            Array.Resize(ref _counts, _ids.Length);
        }
        Array.Copy(_ids, at, _ids, at + 1, Count - at);
        Array.Copy(_counts, at, _counts, at + 1, Count - at);
        _ids[at] = id;
        _counts[at] = count;
        Count++;
    }

    /// <summary>
    /// When the row holds more than twice <paramref name="keep"/> pairs, cuts it back to the <paramref name="keep"/>
    /// largest counts (ties: smaller id); cutting only at twice the size keeps the cost amortised O(1) per increment.
    /// </summary>
    public void TrimAbove(int keep)
    {
        if (Count <= 2 * keep) return;
        var order = new int[Count];
        for (var i = 0; i < order.Length; i++) order[i] = i;
        var (ids, counts) = (_ids, _counts);
        Array.Sort(order, (a, b) => counts[a] != counts[b] ? counts[b].CompareTo(counts[a]) : ids[a].CompareTo(ids[b]));
        var kept = order.AsSpan(0, keep).ToArray();
        Array.Sort(kept);
        var newIds = new int[keep + keep / 2];
        var newCounts = new T[newIds.Length];
        for (var i = 0; i < keep; i++) (newIds[i], newCounts[i]) = (ids[kept[i]], counts[kept[i]]);
        (_ids, _counts, Count) = (newIds, newCounts, keep);
    }
}
