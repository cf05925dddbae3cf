using System.Numerics.Tensors;
using Persona.Numerics;

namespace Persona.Neural;

public static partial class Ops
{
    /// <summary>max(x, 0).</summary>
    public static Tensor Relu(Tensor x)
    {
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        TensorPrimitives.Max(x.Data, 0f, y.Data);
        if (record)
        {
            Tape.Record(() =>
            {
                var dx = x.DenseGrad();
                var dy = y.Grad;
                var xd = x.Data;
                for (var i = 0; i < dx.Length; i++)
                {
                    if (xd[i] > 0f)
                    {
                        dx[i] += dy[i];
                    }
                }
            });
        }

        return y;
    }

    /// <summary>Exact GELU, x·Φ(x).</summary>
    public static Tensor Gelu(Tensor x)
    {
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        Par.For(x.Length / 4096 + 1, 4096 * 20, (lo, hi) =>
        {
            var (s, e) = Range(lo, hi, 4096, x.Length);
            Activations.Gelu(x.Data[s..e], y.Data[s..e]);
        });
        if (record)
        {
            Tape.Record(() =>
            {
                x.DenseGrad();
                Par.For(x.Length / 4096 + 1, 4096 * 30, (lo, hi) =>
                {
                    var (s, e) = Range(lo, hi, 4096, x.Length);
                    Activations.GeluBackward(x.Data[s..e], y.Grad[s..e], x.Grad[s..e]);
                });
            });
        }

        return y;
    }

    /// <summary>tanh(x).</summary>
    public static Tensor Tanh(Tensor x)
    {
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        TensorPrimitives.Tanh(x.Data, y.Data);
        if (record)
        {
            Tape.Record(() =>
            {
                var dx = x.DenseGrad();
                var dy = y.Grad;
                var yd = y.Data;
                for (var i = 0; i < dx.Length; i++)
                {
                    dx[i] += dy[i] * (1f - (yd[i] * yd[i]));
                }
            });
        }

        return y;
    }

    /// <summary>1 / (1 + e^(−x)).</summary>
    public static Tensor Sigmoid(Tensor x)
    {
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        TensorPrimitives.Sigmoid(x.Data, y.Data);
        if (record)
        {
            Tape.Record(() =>
            {
                var dx = x.DenseGrad();
                var dy = y.Grad;
                var yd = y.Data;
                for (var i = 0; i < dx.Length; i++)
                {
                    dx[i] += dy[i] * yd[i] * (1f - yd[i]);
                }
            });
        }

        return y;
    }

    /// <summary>
    /// Inverted dropout: zeroes each element with probability <paramref name="p"/> and scales survivors by 1/(1−p).
    /// The mask comes from <paramref name="rng"/>, so a seeded generator gives the same mask every run.
    /// </summary>
    public static Tensor Dropout(Tensor x, float p, Rng rng)
    {
        if (p <= 0f)
        {
            return x;
        }

        if (p >= 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(p), "Dropout probability must be below 1.");
        }

        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        var mask = Tape.Scratch(x.Length);
        rng.FillDropoutMask(mask, x.Length, p);

        Par.Elementwise(x.Length, 1, (s, e) => TensorPrimitives.Multiply(x.Data[s..e], mask.AsSpan(s, e - s), y.Data[s..e]));
        if (record)
        {
            Tape.Record(() => AccumulateProduct(y, mask, x));
        }

        return y;
    }

    /// <summary>
    /// residual + dropout(x), fused (the residual connection around a dropped-out sublayer): one pass and no
    /// intermediate tensor. Draws the same mask from <paramref name="rng"/> as <see cref="Dropout"/>, so
    /// <c>DropoutAdd(r, x, p, rng)</c> equals <c>Add(r, Dropout(x, p, rng))</c> bit for bit.
    /// </summary>
    public static Tensor DropoutAdd(Tensor residual, Tensor x, float p, Rng rng)
    {
        if (!residual._shape.AsSpan().SequenceEqual(x._shape))
        {
            throw new ArgumentException($"Residual {Tensor.Format(residual._shape)} and input {Tensor.Format(x._shape)} differ in shape.");
        }

        if (p <= 0f)
        {
            return Add(residual, x);
        }

        if (p >= 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(p), "Dropout probability must be below 1.");
        }

        var record = Tape.ShouldRecord(residual, x);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        var mask = Tape.Scratch(x.Length);
        rng.FillDropoutMask(mask, x.Length, p);
        Par.Elementwise(x.Length, 2, (s, e) => TensorPrimitives.MultiplyAdd(x.Data[s..e], mask.AsSpan(s, e - s), residual.Data[s..e], y.Data[s..e]));
        if (record)
        {
            Tape.Record(() =>
            {
                if (residual.RequiresGrad)
                {
                    var dr = residual.GradForWrite(out var fresh);
                    if (fresh)
                    {
                        y.GradView.CopyTo(dr);
                    }
                    else
                    {
                        TensorPrimitives.Add(dr, y.GradView, dr);
                    }
                }

                if (x.RequiresGrad)
                {
                    AccumulateProduct(y, mask, x);
                }
            });
        }

        return y;
    }

    // x.grad (+)= y.grad ⊙ mask, overwriting a fresh gradient buffer; in parallel blocks.
    private static void AccumulateProduct(Tensor y, float[] mask, Tensor x)
    {
        _ = y.Grad;
        var dy = y._grad!;
        x.GradForWrite(out var fresh);
        var dx = x._grad!;
        Par.Elementwise(x.Length, 2, (s, e) =>
        {
            var d = dx.AsSpan(s, e - s);
            if (fresh)
            {
                TensorPrimitives.Multiply(dy.AsSpan(s, e - s), mask.AsSpan(s, e - s), d);
            }
            else
            {
                TensorPrimitives.MultiplyAdd(dy.AsSpan(s, e - s), mask.AsSpan(s, e - s), d, d);
            }
        });
    }

    /// <summary>
    /// Replaces x where <paramref name="mask"/> is true by <paramref name="value"/>; the mask has shape
    /// <paramref name="maskShape"/>, broadcast to x. Masked positions pass no gradient.
    /// </summary>
    public static Tensor MaskedFill(Tensor x, ReadOnlySpan<bool> mask, int[] maskShape, float value)
    {
        if (Tensor.SizeOf(maskShape) != mask.Length)
        {
            throw new ArgumentException($"Mask of {mask.Length} values does not fill {Tensor.Format(maskShape)}.");
        }

        var full = BroadcastShape(x._shape, maskShape);
        if (!full.AsSpan().SequenceEqual(x._shape))
        {
            throw new ArgumentException($"Mask {Tensor.Format(maskShape)} does not broadcast to {Tensor.Format(x._shape)}.");
        }

        var layout = Layout.Of(maskShape, x._shape);
        var keep = new bool[x.Length];
        for (var i = 0; i < keep.Length; i++)
        {
            keep[i] = !mask[layout.Index(i)];
        }

        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        var xd = x.Data;
        var yd = y.Data;
        for (var i = 0; i < keep.Length; i++)
        {
            yd[i] = keep[i] ? xd[i] : value;
        }

        if (record)
        {
            Tape.Record(() =>
            {
                var dx = x.DenseGrad();
                var dy = y.Grad;
                for (var i = 0; i < keep.Length; i++)
                {
                    if (keep[i])
                    {
                        dx[i] += dy[i];
                    }
                }
            });
        }

        return y;
    }

    /// <summary>Causal mask of shape (length, length): true above the diagonal (future positions).</summary>
    public static bool[] CausalMask(int length)
    {
        var mask = new bool[length * length];
        for (var i = 0; i < length; i++)
        {
            for (var j = i + 1; j < length; j++)
            {
                mask[(i * length) + j] = true;
            }
        }

        return mask;
    }

    private static (int Start, int End) Range(int lo, int hi, int block, int length) =>
        (Math.Min(length, lo * block), Math.Min(length, hi * block));
}
