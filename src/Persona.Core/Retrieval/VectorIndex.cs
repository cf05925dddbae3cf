using System.Buffers;
using System.Numerics.Tensors;
using Persona.Numerics;

namespace Persona.Core.Retrieval;

/// <summary>
/// Exact maximum-inner-product search over item vectors held in one contiguous row-major matrix
/// (rows, dimension): each query scores every row with SIMD dot products (<see cref="RowDots"/>, four rows at a time)
/// feeding a bounded heap. At 12k items × 64 floats that is 3 MB scanned in well under a millisecond; the issue
/// allows an exact scan up to 100k items. Above <see cref="ExactLimit"/> rows an <see cref="IvfPartition"/> is built
/// (again whenever the rows double) and a query scans only its best clusters; recall against the exact scan is
/// measured in the tests and bench/README. Items are added, replaced and removed in place (removal moves the last
/// row into the hole), so the matrix stays dense. Any number of readers run together; writers take the lock alone.
/// </summary>
public sealed class VectorIndex : IDisposable
{
    /// <summary>Rows up to which every query scans the whole matrix.</summary>
    public const int DefaultExactLimit = 100_000;

    private readonly ReaderWriterLockSlim _lock = new(LockRecursionPolicy.NoRecursion);
    private readonly Dictionary<string, int> _rows = new(StringComparer.Ordinal);
    private float[] _matrix;
    private float[] _norms;
    private string[] _ids;
    private int _count;
    private IvfPartition? _partition;
    // Writers file rows in the partition without publishing them (a bulk load would copy a cluster per row); the first
    // search after them publishes, one reader at a time (writers are excluded by the lock meanwhile).
    private readonly Lock _publishGate = new();

    public VectorIndex(int dimension, int capacity = 1024, int exactLimit = DefaultExactLimit)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(exactLimit, 1);
        Dimension = dimension;
        ExactLimit = exactLimit;
        capacity = Math.Max(capacity, 16);
        _matrix = new float[capacity * dimension];
        _norms = new float[capacity];
        _ids = new string[capacity];
    }

    public int Dimension { get; }

    public int ExactLimit { get; }

    /// <summary>True when queries scan only the best clusters (more than <see cref="ExactLimit"/> rows).</summary>
    public bool IsApproximate
    {
        get
        {
            _lock.EnterReadLock();
            try { return _partition is not null && _count > ExactLimit; }
            finally { _lock.ExitReadLock(); }
        }
    }

    public int Count
    {
        get
        {
            _lock.EnterReadLock();
            try { return _count; }
            finally { _lock.ExitReadLock(); }
        }
    }

    /// <summary>Adds an item's vector, or replaces it when the id is already indexed.</summary>
    public void Upsert(string id, ReadOnlySpan<float> vector)
    {
        ArgumentNullException.ThrowIfNull(id);
        if (vector.Length != Dimension) throw new ArgumentException($"Expected a vector of {Dimension} floats, got {vector.Length}.", nameof(vector));
        _lock.EnterWriteLock();
        try
        {
            if (!_rows.TryGetValue(id, out var row))
            {
                if (_count == _ids.Length) Grow();
                row = _count++;
                _rows[id] = row;
                _ids[row] = id;
            }
            var target = _matrix.AsSpan(row * Dimension, Dimension);
            vector.CopyTo(target);
            _norms[row] = TensorPrimitives.Norm(target);
            if (_count > ExactLimit && (_partition is null || _count > 2 * _partition.BuiltFor))
                _partition = IvfPartition.Build(_matrix, _count, Dimension);
            else _partition?.Set(row, target);
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    /// <summary>Removes an item; false when it was not indexed.</summary>
    public bool Remove(string id)
    {
        _lock.EnterWriteLock();
        try
        {
            if (!_rows.Remove(id, out var row)) return false;
            var last = --_count;
            _partition?.Remove(row, last);
            if (row != last)
            {
                _matrix.AsSpan(last * Dimension, Dimension).CopyTo(_matrix.AsSpan(row * Dimension, Dimension));
                _norms[row] = _norms[last];
                _ids[row] = _ids[last];
                _rows[_ids[row]] = row;
            }
            _ids[last] = null!;
            return true;
        }
        finally
        {
            _lock.ExitWriteLock();
        }
    }

    public bool Contains(string id)
    {
        _lock.EnterReadLock();
        try { return _rows.ContainsKey(id); }
        finally { _lock.ExitReadLock(); }
    }

    /// <summary>A copy of an item's vector, or null when it is not indexed.</summary>
    public float[]? GetVector(string id)
    {
        _lock.EnterReadLock();
        try
        {
            return _rows.TryGetValue(id, out var row) ? _matrix.AsSpan(row * Dimension, Dimension).ToArray() : null;
        }
        finally
        {
            _lock.ExitReadLock();
        }
    }

    /// <summary>
    /// The <paramref name="k"/> items with the largest dot product with <paramref name="query"/> (or, with
    /// <paramref name="cosine"/>, the largest cosine), best first, ties by id. <paramref name="accept"/> filters
    /// ids before they compete; it runs under the read lock and must not call back into this index.
    /// </summary>
    /// <remarks>
    /// Every row is scored, then only the best few times k are put in order and offered to <paramref name="accept"/>,
    /// so a filter (a dictionary lookup or more) runs for about that many ids however the catalog is ordered; when
    /// it rejects so many that fewer than k remain, the rest of the rows are offered too.
    /// </remarks>
    public ScoredId[] Search(ReadOnlySpan<float> query, int k, Func<string, bool>? accept = null, bool cosine = false)
    {
        if (query.Length != Dimension) throw new ArgumentException($"Expected a query of {Dimension} floats, got {query.Length}.", nameof(query));
        var top = new TopK(k);
        if (k == 0) return [];
        var queryNorm = cosine ? TensorPrimitives.Norm(query) : 1f;
        if (queryNorm == 0f) return [];
        _lock.EnterReadLock();
        var scores = ArrayPool<float>.Shared.Rent(Math.Max(1, _count));
        try
        {
            var rows = _count;
            if (_partition is not null && rows > ExactLimit)
            {
                if (_partition.HasUnpublished)
                    lock (_publishGate) _partition.Publish();
                var approximate = new TopK(k);
                if (SearchClusters(query, k, accept, cosine, queryNorm, approximate)) return approximate.ToSortedArray();
            }
            RowDots.Compute(_matrix.AsSpan(0, rows * Dimension), query, scores.AsSpan(0, rows)); // (rows, dim) · (dim) → (rows)
            if (cosine)
                for (var row = 0; row < rows; row++) scores[row] = _norms[row] == 0f ? 0f : scores[row] / (_norms[row] * queryNorm);
            var order = RowDots.TopRows(scores, rows, accept is null ? k : Math.Max(4 * k, k + 64));
            foreach (var row in order)
            {
                if (!top.MayAccept(scores[row])) break;
                if (accept is null || accept(_ids[row])) top.Add(_ids[row], scores[row]);
            }
            if (top.Count < k && order.Length < rows)
            {
                var offered = new HashSet<int>(order);
                for (var row = 0; row < rows; row++)
                    if (!offered.Contains(row) && top.MayAccept(scores[row]) && accept!(_ids[row])) top.Add(_ids[row], scores[row]);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scores);
            _lock.ExitReadLock();
        }
        return top.ToSortedArray();
    }

    /// <summary>
    /// The approximate path: scores the rows of the best clusters only. False when the filter left fewer than k of
    /// them (the caller then scans everything).
    /// </summary>
    private bool SearchClusters(ReadOnlySpan<float> query, int k, Func<string, bool>? accept, bool cosine, float queryNorm, TopK top)
    {
        var candidates = _partition!.Candidates(query);
        var scores = ArrayPool<float>.Shared.Rent(Math.Max(1, candidates.Count));
        try
        {
            for (var i = 0; i < candidates.Count; i++)
            {
                var row = candidates[i];
                var score = TensorPrimitives.Dot(_matrix.AsSpan(row * Dimension, Dimension), query);
                scores[i] = cosine ? (_norms[row] == 0f ? 0f : score / (_norms[row] * queryNorm)) : score;
            }
            foreach (var i in RowDots.TopRows(scores, candidates.Count, accept is null ? k : Math.Max(4 * k, k + 64)))
            {
                if (!top.MayAccept(scores[i])) break;
                var id = _ids[candidates[i]];
                if (accept is null || accept(id)) top.Add(id, scores[i]);
            }
        }
        finally
        {
            ArrayPool<float>.Shared.Return(scores);
        }
        return top.Count == Math.Min(k, _count) || accept is null;
    }

    private void Grow()
    {
        var capacity = _ids.Length * 2;
        Array.Resize(ref _matrix, capacity * Dimension);
        Array.Resize(ref _norms, capacity);
        Array.Resize(ref _ids, capacity);
    }

    public void Dispose() => _lock.Dispose();
}
