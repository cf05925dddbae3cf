using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Persona.Numerics;

/// <summary>
/// Dot products of one vector with every row of a row-major matrix: the inner loop of exact nearest-neighbour search.
/// Four rows share each load of the query and keep four accumulators in flight, about twice the speed of one
/// <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> call per row at the widths models use.
/// </summary>
public static class RowDots
{
    /// <summary>scores[r] = Σ_j matrix[r, j] · query[j] for r in [0, scores.Length); matrix is (scores.Length, query.Length).</summary>
    public static void Compute(ReadOnlySpan<float> matrix, ReadOnlySpan<float> query, Span<float> scores)
    {
        var dim = query.Length;
        var rows = scores.Length;
        if ((long)rows * dim > matrix.Length) throw new ArgumentException($"The matrix holds {matrix.Length} floats, fewer than {rows} rows of {dim}.", nameof(matrix));
        var r = 0;
        if (Vector256.IsHardwareAccelerated && dim > 0 && dim % Vector256<float>.Count == 0)
        {
            ref var m = ref MemoryMarshal.GetReference(matrix);
            ref var q = ref MemoryMarshal.GetReference(query);
            for (; r + 4 <= rows; r += 4)
            {
                ref var m0 = ref Unsafe.Add(ref m, (nint)r * dim);
                ref var m1 = ref Unsafe.Add(ref m0, dim);
                ref var m2 = ref Unsafe.Add(ref m1, dim);
                ref var m3 = ref Unsafe.Add(ref m2, dim);
                Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                for (nuint j = 0; j < (nuint)dim; j += (nuint)Vector256<float>.Count)
                {
                    var v = Vector256.LoadUnsafe(ref q, j);
                    a0 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref m0, j), v, a0);
                    a1 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref m1, j), v, a1);
                    a2 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref m2, j), v, a2);
                    a3 = Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref m3, j), v, a3);
                }
                scores[r] = Vector256.Sum(a0);
                scores[r + 1] = Vector256.Sum(a1);
                scores[r + 2] = Vector256.Sum(a2);
                scores[r + 3] = Vector256.Sum(a3);
            }
        }
        for (; r < rows; r++) scores[r] = TensorPrimitives.Dot(matrix.Slice(r * dim, dim), query);
    }

    /// <summary>
    /// The rows of the <paramref name="count"/> highest of <paramref name="scores"/>[0..rows), best first (ties by row);
    /// every row tied with the last one kept is included, so the result may be longer. O(rows) to find the threshold
    /// (for a few of many rows one pass against a threshold guessed from a sample; else quickselect on a pooled copy) plus
    /// O(count · log count) to order what passes it, whatever order the scores are in.
    /// NaN scores are never returned.
    /// </summary>
    public static int[] TopRows(float[] scores, int rows, int count)
    {
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(rows, scores.Length);
        if (count <= 0 || rows <= 0) return [];
        var kept = rows >= SampledFromRows && count <= rows / 64 ? PassingSampledThreshold(scores, rows, count) : null;
        kept ??= PassingExactThreshold(scores, rows, count);
        CollectionsMarshal.AsSpan(kept).Sort(default(BestFirst));
        var order = new int[kept.Count];
        for (var i = 0; i < order.Length; i++) order[i] = kept[i].Row;
        return order;
    }

    /// <summary>The rows scoring at least the <paramref name="count"/>-th highest score (quickselect on a pooled copy), in row order.</summary>
    private static List<ScoredRow> PassingExactThreshold(float[] scores, int rows, int count)
    {
        var threshold = float.NegativeInfinity;
        if (count < rows)
        {
            var copy = ArrayPool<float>.Shared.Rent(rows);
            try
            {
                for (var r = 0; r < rows; r++) copy[r] = float.IsNaN(scores[r]) ? float.NegativeInfinity : scores[r];
                threshold = Selection.KthLargest(copy.AsSpan(0, rows), count);
            }
            finally
            {
                ArrayPool<float>.Shared.Return(copy);
            }
        }
        var kept = new List<ScoredRow>(Math.Min(rows, count + 16));
        for (var r = 0; r < rows; r++)
            if (scores[r] >= threshold) kept.Add(new ScoredRow(scores[r], r));
        return kept;
    }

    private const int SampledFromRows = 65_536;
    private const int SampleSize = 4_096;

    /// <summary>
    /// <see cref="PassingExactThreshold"/> for a few rows out of many, in one pass and without copying the scores: a
    /// threshold guessed from an even sample keeps some four times <paramref name="count"/> candidates; when at least
    /// <paramref name="count"/> pass it, the exact threshold is among them (every score at or above it passed), so the
    /// rows kept are the same. Null when too few or too many passed (ties, NaNs): the caller then selects over all rows.
    /// </summary>
    private static List<ScoredRow>? PassingSampledThreshold(float[] scores, int rows, int count)
    {
        Span<float> sample = stackalloc float[SampleSize];
        var stride = rows / SampleSize;
        for (var i = 0; i < SampleSize; i++)
        {
            var score = scores[i * stride];
            sample[i] = float.IsNaN(score) ? float.NegativeInfinity : score;
        }
        var wanted = 4.0 * count + 64;
        var k = (int)Math.Min(SampleSize, Math.Ceiling(wanted * SampleSize / rows) + 1);
        var guess = Selection.KthLargest(sample, k);
        if (float.IsNegativeInfinity(guess)) return null;

        var limit = 16 * (int)wanted + 4_096;
        var passed = new List<ScoredRow>((int)wanted * 2);
        for (var r = 0; r < rows; r++)
        {
            if (!(scores[r] >= guess)) continue;
            if (passed.Count == limit) return null;
            passed.Add(new ScoredRow(scores[r], r));
        }
        if (passed.Count < count) return null;

        var values = ArrayPool<float>.Shared.Rent(passed.Count);
        float threshold;
        try
        {
            for (var i = 0; i < passed.Count; i++) values[i] = passed[i].Score;
            threshold = Selection.KthLargest(values.AsSpan(0, passed.Count), count);
        }
        finally
        {
            ArrayPool<float>.Shared.Return(values);
        }
        passed.RemoveAll(p => p.Score < threshold);
        return passed;
    }

    private readonly record struct ScoredRow(float Score, int Row);

    /// <summary>Higher score first; ties: the lower row first.</summary>
    private readonly struct BestFirst : IComparer<ScoredRow>
    {
        public int Compare(ScoredRow a, ScoredRow b) => a.Score != b.Score ? b.Score.CompareTo(a.Score) : a.Row.CompareTo(b.Row);
    }
}
