using System.Numerics.Tensors;

namespace Persona.Neural;

public static partial class Ops
{
    /// <summary>Sum of all elements, as a scalar.</summary>
    public static Tensor Sum(Tensor x)
    {
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor([], record);
        y.Data[0] = TensorPrimitives.Sum(x.Data);
        if (record)
        {
            Tape.Record(() => TensorPrimitives.Add(x.DenseGrad(), y.Grad[0], x.DenseGrad()));
        }

        return y;
    }

    /// <summary>Mean of all elements, as a scalar.</summary>
    public static Tensor Mean(Tensor x) => Scale(Sum(x), 1f / Math.Max(1, x.Length));

    /// <summary>Sum over <paramref name="axis"/>; the axis is kept with size 1 when <paramref name="keepDim"/>.</summary>
    public static Tensor Sum(Tensor x, int axis, bool keepDim = false)
    {
        axis = Tensor.NormalizeAxis(axis, x.Rank);
        var (outer, n, inner) = Split(x._shape, axis);
        var shape = ReducedShape(x._shape, axis, keepDim);
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor(shape, record, zero: true);
        var xd = x.Data;
        var yd = y.Data;
        for (var o = 0; o < outer; o++)
        {
            if (inner == 1)
            {
                yd[o] = TensorPrimitives.Sum(xd.Slice(o * n, n));
                continue;
            }

            var dst = yd.Slice(o * inner, inner);
            for (var j = 0; j < n; j++)
            {
                TensorPrimitives.Add(dst, xd.Slice(((o * n) + j) * inner, inner), dst);
            }
        }

        if (record)
        {
            Tape.Record(() =>
            {
                var dx = x.DenseGrad();
                var dy = y.Grad;
                for (var o = 0; o < outer; o++)
                {
                    if (inner == 1)
                    {
                        TensorPrimitives.Add(dx.Slice(o * n, n), dy[o], dx.Slice(o * n, n));
                        continue;
                    }

                    var g = dy.Slice(o * inner, inner);
                    for (var j = 0; j < n; j++)
                    {
                        var d = dx.Slice(((o * n) + j) * inner, inner);
                        TensorPrimitives.Add(d, g, d);
                    }
                }
            });
        }

        return y;
    }

    /// <summary>Mean over <paramref name="axis"/>.</summary>
    public static Tensor Mean(Tensor x, int axis, bool keepDim = false) =>
        Scale(Sum(x, axis, keepDim), 1f / Math.Max(1, x.Dim(axis)));

    /// <summary>Sum over several axes.</summary>
    public static Tensor Sum(Tensor x, int[] axes, bool keepDim = false)
    {
        var sorted = axes.Select(a => Tensor.NormalizeAxis(a, x.Rank)).Distinct().OrderDescending().ToArray();
        var y = x;
        foreach (var axis in sorted)
        {
            y = Sum(y, axis, keepDim);
        }

        return y;
    }

    internal static (int Outer, int N, int Inner) Split(int[] shape, int axis)
    {
        int outer = 1, inner = 1;
        for (var i = 0; i < axis; i++)
        {
            outer *= shape[i];
        }

        for (var i = axis + 1; i < shape.Length; i++)
        {
            inner *= shape[i];
        }

        return (outer, shape[axis], inner);
    }

    private static int[] ReducedShape(int[] shape, int axis, bool keepDim)
    {
        if (keepDim)
        {
            var kept = (int[])shape.Clone();
            kept[axis] = 1;
            return kept;
        }

        return [.. shape[..axis], .. shape[(axis + 1)..]];
    }
}
