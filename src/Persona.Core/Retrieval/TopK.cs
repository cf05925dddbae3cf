namespace Persona.Core.Retrieval;

/// <summary>An item id with a score; results are ordered by score, highest first, ties by id (ordinal).</summary>
public readonly record struct ScoredId(string Id, float Score);

/// <summary>
/// Keeps the k best (score, id) pairs offered, in O(log k) per offer: a bounded min-heap whose root is the worst
/// kept pair. Better means a higher score, ties going to the smaller id (ordinal), so results never depend on the
/// order items were offered in. NaN scores are ignored.
/// </summary>
public sealed class TopK
{
    private readonly ScoredId[] _heap;
    private int _count;

    public TopK(int k)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        _heap = new ScoredId[k];
    }

    public int Capacity => _heap.Length;
    public int Count => _count;

    /// <summary>True when a pair with this score could still enter (cheap pre-check before building the id).</summary>
    public bool MayAccept(float score) => _count < _heap.Length || (_heap.Length > 0 && score >= _heap[0].Score);

    public void Add(string id, float score)
    {
        if (_heap.Length == 0 || float.IsNaN(score)) return;
        var candidate = new ScoredId(id, score);
        if (_count < _heap.Length)
        {
            _heap[_count] = candidate;
            SiftUp(_count++);
        }
        else if (Worse(_heap[0], candidate))
        {
            _heap[0] = candidate;
            SiftDown(0);
        }
    }

    /// <summary>The kept pairs, best first.</summary>
    public ScoredId[] ToSortedArray()
    {
        var result = _heap.AsSpan(0, _count).ToArray();
        Array.Sort(result, static (a, b) => Worse(a, b) ? 1 : Worse(b, a) ? -1 : 0);
        return result;
    }

    /// <summary>Whether <paramref name="a"/> ranks below <paramref name="b"/>.</summary>
    public static bool Worse(in ScoredId a, in ScoredId b) =>
        a.Score < b.Score || (a.Score == b.Score && string.CompareOrdinal(a.Id, b.Id) > 0);

    private void SiftUp(int i)
    {
        while (i > 0)
        {
            var parent = (i - 1) >> 1;
            if (!Worse(_heap[i], _heap[parent])) break;
            (_heap[i], _heap[parent]) = (_heap[parent], _heap[i]);
            i = parent;
        }
    }

    private void SiftDown(int i)
    {
        while (true)
        {
            var left = 2 * i + 1;
            if (left >= _count) break;
            var worst = left;
            if (left + 1 < _count && Worse(_heap[left + 1], _heap[left])) worst = left + 1;
            if (!Worse(_heap[worst], _heap[i])) break;
            (_heap[i], _heap[worst]) = (_heap[worst], _heap[i]);
            i = worst;
        }
    }
}
