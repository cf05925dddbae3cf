using System.Numerics.Tensors;

namespace Persona.Neural;

public static partial class Ops
{
    /// <summary>The same data under another shape (one dimension may be −1). No copy.</summary>
    public static Tensor Reshape(Tensor x, params int[] shape)
    {
        var resolved = (int[])shape.Clone();
        var unknown = Array.IndexOf(resolved, -1);
        if (unknown >= 0)
        {
            var known = 1;
            for (var i = 0; i < resolved.Length; i++)
            {
                known *= i == unknown ? 1 : resolved[i];
            }

            resolved[unknown] = known == 0 ? 0 : x.Length / known;
        }

        if (Tensor.SizeOf(resolved) != x.Length)
        {
            throw new ArgumentException($"Cannot reshape {Tensor.Format(x._shape)} to {Tensor.Format(shape)}.");
        }

        var record = Tape.ShouldRecord(x);
        var y = Tape.View(x, resolved, record);
        if (record)
        {
            Tape.Record(() => TensorPrimitives.Add(x.DenseGrad(), y.Grad, x.DenseGrad()));
        }

        return y;
    }

    /// <summary>Swaps two axes (copies).</summary>
    public static Tensor Transpose(Tensor x, int axis0, int axis1)
    {
        var perm = Enumerable.Range(0, x.Rank).ToArray();
        axis0 = Tensor.NormalizeAxis(axis0, x.Rank);
        axis1 = Tensor.NormalizeAxis(axis1, x.Rank);
        (perm[axis0], perm[axis1]) = (perm[axis1], perm[axis0]);
        return Permute(x, perm);
    }

    /// <summary>Reorders axes: result axis i is input axis <paramref name="perm"/>[i] (copies).</summary>
    public static Tensor Permute(Tensor x, params int[] perm)
    {
        if (perm.Length != x.Rank || perm.Distinct().Count() != x.Rank || perm.Any(p => (uint)p >= (uint)x.Rank))
        {
            throw new ArgumentException($"Invalid permutation for rank {x.Rank}.", nameof(perm));
        }

        var shape = perm.Select(p => x._shape[p]).ToArray();
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor(shape, record);
        PermuteCopy(x.Data, x._shape, perm, y.Data, inverse: false);
        if (record)
        {
            Tape.Record(() => PermuteCopy(y.Grad, x._shape, perm, x.DenseGrad(), inverse: true));
        }

        return y;
    }

    // Forward: dst (permuted) = src (original). Inverse: dst (original) += src (permuted). Walks the permuted order and
    // moves whole rows when the last axis stays last.
    private static void PermuteCopy(ReadOnlySpan<float> src, int[] inShape, int[] perm, Span<float> dst, bool inverse)
    {
        var rank = inShape.Length;
        var inStrides = new int[rank];
        var stride = 1;
        for (var i = rank - 1; i >= 0; i--)
        {
            inStrides[i] = stride;
            stride *= inShape[i];
        }

        var outShape = perm.Select(p => inShape[p]).ToArray();
        var strideOfOut = perm.Select(p => inStrides[p]).ToArray(); // original-layout stride of each permuted axis
        var block = rank > 0 && perm[rank - 1] == rank - 1 ? inShape[rank - 1] : 1;
        var loopRank = block > 1 ? rank - 1 : rank;
        var total = Tensor.SizeOf(outShape);
        if (total == 0)
        {
            return;
        }

        var index = new int[rank];
        var offset = 0;
        for (var o = 0; o < total; o += block)
        {
            if (inverse)
            {
                var d = dst.Slice(offset, block);
                TensorPrimitives.Add(d, src.Slice(o, block), d);
            }
            else
            {
                src.Slice(offset, block).CopyTo(dst.Slice(o, block));
            }

            for (var ax = loopRank - 1; ax >= 0; ax--)
            {
                index[ax]++;
                offset += strideOfOut[ax];
                if (index[ax] < outShape[ax])
                {
                    break;
                }

                offset -= strideOfOut[ax] * index[ax];
                index[ax] = 0;
            }
        }
    }

    /// <summary>Joins tensors along <paramref name="axis"/>; all other dimensions must agree.</summary>
    public static Tensor Concat(IReadOnlyList<Tensor> parts, int axis)
    {
        ArgumentOutOfRangeException.ThrowIfZero(parts.Count);
        var first = parts[0];
        axis = Tensor.NormalizeAxis(axis, first.Rank);
        var shape = (int[])first._shape.Clone();
        shape[axis] = 0;
        var record = false;
        foreach (var p in parts)
        {
            if (p.Rank != first.Rank || Enumerable.Range(0, p.Rank).Any(i => i != axis && p._shape[i] != first._shape[i]))
            {
                throw new ArgumentException($"Cannot concatenate {Tensor.Format(p._shape)} with {Tensor.Format(first._shape)} on axis {axis}.");
            }

            shape[axis] += p._shape[axis];
            record |= Tape.ShouldRecord(p);
        }

        var (outer, _, inner) = Split(shape, axis);
        var y = Tape.NewTensor(shape, record);
        var rowOut = shape[axis] * inner;
        var col = 0;
        foreach (var p in parts)
        {
            var w = p._shape[axis] * inner;
            var src = p.Data;
            var dst = y.Data;
            for (var o = 0; o < outer; o++)
            {
                src.Slice(o * w, w).CopyTo(dst.Slice((o * rowOut) + col, w));
            }

            col += w;
        }

        if (record)
        {
            Tape.Record(() =>
            {
                var c = 0;
                foreach (var p in parts)
                {
                    var w = p._shape[axis] * inner;
                    if (p.RequiresGrad)
                    {
                        var dst = p.DenseGrad();
                        var dy = y.Grad;
                        for (var o = 0; o < outer; o++)
                        {
                            var d = dst.Slice(o * w, w);
                            TensorPrimitives.Add(d, dy.Slice((o * rowOut) + c, w), d);
                        }
                    }

                    c += w;
                }
            });
        }

        return y;
    }

    /// <summary>Elements [start, start + length) along <paramref name="axis"/> (copies).</summary>
    public static Tensor Slice(Tensor x, int axis, int start, int length)
    {
        axis = Tensor.NormalizeAxis(axis, x.Rank);
        if (start < 0 || length < 0 || start + length > x._shape[axis])
        {
            throw new ArgumentOutOfRangeException(nameof(start), $"Slice [{start}, {start + length}) of axis {axis} with size {x._shape[axis]}.");
        }

        var (outer, n, inner) = Split(x._shape, axis);
        var shape = (int[])x._shape.Clone();
        shape[axis] = length;
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor(shape, record);
        var w = length * inner;
        for (var o = 0; o < outer; o++)
        {
            x.Data.Slice((o * n * inner) + (start * inner), w).CopyTo(y.Data.Slice(o * w, w));
        }

        if (record)
        {
            Tape.Record(() =>
            {
                var dx = x.DenseGrad();
                var dy = y.Grad;
                for (var o = 0; o < outer; o++)
                {
                    var d = dx.Slice((o * n * inner) + (start * inner), w);
                    TensorPrimitives.Add(d, dy.Slice(o * w, w), d);
                }
            });
        }

        return y;
    }

    /// <summary>
    /// Rows of <paramref name="table"/> (first axis) picked by <paramref name="ids"/>: result shape is
    /// <paramref name="idsShape"/> + table's trailing dimensions. A negative id yields a zero row and no gradient
    /// (padding). The backward writes only the touched gradient rows (sparse), so optimisers can skip the rest.
    /// </summary>
    public static Tensor Embedding(Tensor table, ReadOnlySpan<int> ids, params int[] idsShape)
    {
        if (idsShape.Length == 0)
        {
            idsShape = [ids.Length];
        }

        if (Tensor.SizeOf(idsShape) != ids.Length)
        {
            throw new ArgumentException($"{ids.Length} ids do not fill shape {Tensor.Format(idsShape)}.");
        }

        var rows = table._shape[0];
        var width = table.RowWidth;
        var shape = idsShape.Concat(table._shape.Skip(1)).ToArray();
        var record = Tape.ShouldRecord(table);
        var y = Tape.NewTensor(shape, record);
        var saved = ids.ToArray();
        var src = table.Data;
        var dst = y.Data;
        for (var i = 0; i < saved.Length; i++)
        {
            var id = saved[i];
            if (id >= rows)
            {
                throw new ArgumentOutOfRangeException(nameof(ids), $"Id {id} outside a table of {rows} rows.");
            }

            if (id < 0)
            {
                dst.Slice(i * width, width).Clear();
            }
            else
            {
                src.Slice(id * width, width).CopyTo(dst.Slice(i * width, width));
            }
        }

        if (record)
        {
            Tape.Record(() =>
            {
                var dy = y.Grad;
                for (var i = 0; i < saved.Length; i++)
                {
                    if (saved[i] >= 0)
                    {
                        var g = table.SparseGradRow(saved[i]);
                        TensorPrimitives.Add(g, dy.Slice(i * width, width), g);
                    }
                }
            });
        }

        return y;
    }
}
