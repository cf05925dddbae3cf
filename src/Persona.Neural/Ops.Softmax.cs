using System.Numerics.Tensors;

namespace Persona.Neural;

public static partial class Ops
{
    /// <summary>Softmax over the last axis (max-subtracted).</summary>
    public static Tensor Softmax(Tensor x) => SoftmaxCore(x, log: false);

    /// <summary>Log-softmax over the last axis: x − max − log Σ e^(x − max).</summary>
    public static Tensor LogSoftmax(Tensor x) => SoftmaxCore(x, log: true);

    private static Tensor SoftmaxCore(Tensor x, bool log)
    {
        var width = x._shape[^1];
        var rows = width == 0 ? 0 : x.Length / width;
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        Par.For(rows, width * 4, (lo, hi) =>
        {
            for (var r = lo; r < hi; r++)
            {
                var src = x.Data.Slice(r * width, width);
                var dst = y.Data.Slice(r * width, width);
                if (log)
                {
                    LogSoftmaxRow(src, dst);
                }
                else
                {
                    SoftmaxRow(src, dst);
                }
            }
        });
        if (record)
        {
            Tape.Record(() =>
            {
                x.DenseGrad();
                Par.For(rows, width * 4, (lo, hi) =>
                {
                    for (var r = lo; r < hi; r++)
                    {
                        var yr = y.Data.Slice(r * width, width);
                        var dy = y.Grad.Slice(r * width, width);
                        var dx = x.Grad.Slice(r * width, width);
                        if (log)
                        {
                            // dx = dy − softmax·Σdy, softmax = e^y
                            var total = TensorPrimitives.Sum(dy);
                            for (var j = 0; j < width; j++)
                            {
                                dx[j] += dy[j] - (MathF.Exp(yr[j]) * total);
                            }
                        }
                        else
                        {
                            // dx = y ⊙ (dy − Σ dy⊙y)
                            var dot = TensorPrimitives.Dot(dy, yr);
                            for (var j = 0; j < width; j++)
                            {
                                dx[j] += yr[j] * (dy[j] - dot);
                            }
                        }
                    }
                });
            });
        }

        return y;
    }

    /// <summary>Stable softmax of one row; a row of −∞ gives zeros.</summary>
    internal static void SoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        var max = TensorPrimitives.Max(x);
        if (float.IsNegativeInfinity(max))
        {
            y.Clear();
            return;
        }

        TensorPrimitives.Subtract(x, max, y);
        TensorPrimitives.Exp(y, y);
        TensorPrimitives.Multiply(y, 1f / TensorPrimitives.Sum(y), y);
    }

    internal static void LogSoftmaxRow(ReadOnlySpan<float> x, Span<float> y)
    {
        var lse = LogSumExp(x, y);
        TensorPrimitives.Subtract(x, lse, y);
    }

    /// <summary>log Σ e^x, using <paramref name="scratch"/> (same length) for the exponentials.</summary>
    internal static float LogSumExp(ReadOnlySpan<float> x, Span<float> scratch)
    {
        var max = TensorPrimitives.Max(x);
        if (float.IsNegativeInfinity(max) || float.IsPositiveInfinity(max))
        {
            return max;
        }

        TensorPrimitives.Subtract(x, max, scratch);
        TensorPrimitives.Exp(scratch, scratch);
        return max + MathF.Log(TensorPrimitives.Sum(scratch));
    }
}
