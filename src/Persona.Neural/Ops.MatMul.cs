using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Persona.Numerics;

namespace Persona.Neural;

public static partial class Ops
{
    /// <summary>
    /// Matrix product op(a)·op(b). Forms: a (…, k) · b (k, n) → (…, n) with the leading axes of a flattened into rows;
    /// a (k, m)ᵀ · b → (m, n) when <paramref name="transposeA"/>; batched a (B…, m, k) · b (B…, k, n) → (B…, m, n)
    /// when both have rank ≥ 3 and equal leading axes. <paramref name="transposeB"/> reads b as (n, k).
    /// </summary>
    public static Tensor MatMul(Tensor a, Tensor b, bool transposeA = false, bool transposeB = false)
    {
        int batch, m, k, n;
        int[] shape;
        if (b.Rank == 2 && (!transposeA || a.Rank == 2) && a.Rank >= 1)
        {
            batch = 1;
            k = transposeA ? a._shape[0] : a._shape[^1];
            m = transposeA ? a._shape[1] : (k == 0 ? 0 : a.Length / k);
            n = transposeB ? b._shape[0] : b._shape[1];
            var kb = transposeB ? b._shape[1] : b._shape[0];
            if (kb != k)
            {
                throw Mismatch(a, b);
            }

            shape = transposeA ? [m, n] : [.. a._shape[..^1], n];
        }
        else if (a.Rank >= 3 && b.Rank == a.Rank && a._shape.AsSpan(0, a.Rank - 2).SequenceEqual(b._shape.AsSpan(0, b.Rank - 2)))
        {
            batch = Tensor.SizeOf(a._shape.AsSpan(0, a.Rank - 2));
            m = transposeA ? a._shape[^1] : a._shape[^2];
            k = transposeA ? a._shape[^2] : a._shape[^1];
            n = transposeB ? b._shape[^2] : b._shape[^1];
            var kb = transposeB ? b._shape[^1] : b._shape[^2];
            if (kb != k)
            {
                throw Mismatch(a, b);
            }

            shape = [.. a._shape[..^2], m, n];
        }
        else
        {
            throw Mismatch(a, b);
        }

        var record = Tape.ShouldRecord(a, b);
        var y = Tape.NewTensor(shape, record);
        int lda = transposeA ? m : k, ldb = transposeB ? k : n;
        int sa = m * k, sb = k * n, sc = m * n;
        Gemm.SgemmBatched(transposeA, transposeB, m, n, k, 1f, a.Data, lda, sa, b.Data, ldb, sb, 0f, y.Data, n, sc, batch);
        if (record)
        {
            Tape.Record(() =>
            {
                var dc = y.Grad;
                // Each product writes all of its operand's gradient, so a fresh buffer is overwritten (beta = 0).
                if (a.RequiresGrad)
                {
                    var da = a.GradForWrite(out var fresh);
                    var beta = fresh ? 0f : 1f;
                    if (!transposeA)
                    {
                        Gemm.SgemmBatched(false, !transposeB, m, k, n, 1f, dc, n, sc, b.Data, ldb, sb, beta, da, k, sa, batch);
                    }
                    else
                    {
                        Gemm.SgemmBatched(transposeB, true, k, m, n, 1f, b.Data, ldb, sb, dc, n, sc, beta, da, m, sa, batch);
                    }
                }

                if (b.RequiresGrad)
                {
                    var db = b.GradForWrite(out var fresh);
                    var beta = fresh ? 0f : 1f;
                    if (!transposeB)
                    {
                        Gemm.SgemmBatched(!transposeA, false, k, n, m, 1f, a.Data, lda, sa, dc, n, sc, beta, db, n, sb, batch);
                    }
                    else
                    {
                        Gemm.SgemmBatched(true, transposeA, n, k, m, 1f, dc, n, sc, a.Data, lda, sa, beta, db, k, sb, batch);
                    }
                }
            });
        }

        return y;
    }

    /// <summary>
    /// Affine map y = x·Wᵀ + b with PyTorch's layout: x (…, in), weight (out, in), bias (out) → (…, out).
    /// The bias is written first and the GEMM accumulates onto it (beta = 1), saving a pass.
    /// </summary>
    public static Tensor Linear(Tensor x, Tensor weight, Tensor? bias = null)
    {
        var (rows, inF, outF) = LinearShape(x, weight, bias);
        var record = Tape.ShouldRecord(x, weight, bias);
        var y = Tape.NewTensor([.. x._shape[..^1], outF], record);
        AffineForward(x, weight, bias, y, rows, inF, outF);
        if (record)
        {
            Tape.Record(() =>
            {
                _ = y.Grad; // a result nothing used still has a (zero) gradient
                LinearBackward(x, weight, bias, y._grad!, rows, inF, outF);
            });
        }

        return y;
    }

    /// <summary>
    /// dropout(gelu(x·Wᵀ + b)), the exact GELU, fused: the activation (and the dropout mask, when
    /// <paramref name="dropout"/> &gt; 0) is applied in place on the GEMM output, and the forward keeps the slope
    /// GELU'·mask so the backward is one product instead of a second pass of exponentials. No gradient buffer is made
    /// for the pre-activation. The mask is drawn from <paramref name="rng"/> as <see cref="Dropout"/> draws it.
    /// x (…, in), weight (out, in), bias (out) → (…, out).
    /// </summary>
    public static Tensor LinearGelu(Tensor x, Tensor weight, Tensor? bias = null, float dropout = 0f, Rng? rng = null)
    {
        if (dropout is < 0f or >= 1f || (dropout > 0f && rng is null))
        {
            throw new ArgumentException("Dropout must be in [0, 1), with a generator when above 0.", nameof(dropout));
        }

        var (rows, inF, outF) = LinearShape(x, weight, bias);
        var record = Tape.ShouldRecord(x, weight, bias);
        var y = Tape.NewTensor([.. x._shape[..^1], outF], record);
        AffineForward(x, weight, bias, y, rows, inF, outF);
        float[]? mask = null;
        if (dropout > 0f)
        {
            mask = Tape.Scratch(y.Length);
            rng!.FillDropoutMask(mask, y.Length, dropout);
        }

        var slope = record ? Tape.Scratch(y.Length) : null; // (rows, out) GELU'·mask, then the pre-activation gradient
        Par.Elementwise(y.Length, 32, (s, e) =>
        {
            var v = y.Data[s..e];
            if (slope is not null)
            {
                Activations.GeluWithDerivative(v, v, slope.AsSpan(s, e - s), mask is null ? default : mask.AsSpan(s, e - s));
                return;
            }

            Activations.Gelu(v, v);
            if (mask is not null)
            {
                TensorPrimitives.Multiply(v, mask.AsSpan(s, e - s), v);
            }
        });
        if (record)
        {
            Tape.Record(() =>
            {
                _ = y.Grad; // allocated here, not racing inside the parallel loop
                var dyAll = y._grad!;
                Par.Elementwise(y.Length, 1, (s, e) =>
                {
                    var dz = slope!.AsSpan(s, e - s);
                    TensorPrimitives.Multiply(dyAll.AsSpan(s, e - s), dz, dz);
                });
                LinearBackward(x, weight, bias, slope!, rows, inF, outF);
            });
        }

        return y;
    }

    private static (int Rows, int In, int Out) LinearShape(Tensor x, Tensor weight, Tensor? bias)
    {
        if (weight.Rank != 2 || x._shape[^1] != weight._shape[1] || (bias is not null && bias.Length != weight._shape[0]))
        {
            throw new ArgumentException($"Linear of {Tensor.Format(x._shape)} with weight {Tensor.Format(weight._shape)}.");
        }

        var inF = weight._shape[1];
        return (x.Length / Math.Max(1, inF), inF, weight._shape[0]);
    }

    // y (rows, out) = x (rows, in) · Wᵀ + b: bias rows first (in parallel), then the GEMM with beta = 1.
    private static void AffineForward(Tensor x, Tensor weight, Tensor? bias, Tensor y, int rows, int inF, int outF)
    {
        if (bias is not null)
        {
            Par.For(rows, outF, (lo, hi) =>
            {
                var bd = bias.Data;
                var yd = y.Data;
                for (var r = lo; r < hi; r++)
                {
                    bd.CopyTo(yd.Slice(r * outF, outF));
                }
            });
        }

        Gemm.Sgemm(false, true, rows, outF, inF, 1f, x.Data, inF, weight.Data, inF, bias is null ? 0f : 1f, y.Data, outF);
    }

    // Given dy (rows, out): dx (+)= dy·W, dW += dyᵀ·x, db += column sums of dy.
    private static void LinearBackward(Tensor x, Tensor weight, Tensor? bias, float[] dyBuffer, int rows, int inF, int outF)
    {
        var dy = dyBuffer.AsSpan(0, rows * outF);
        if (x.RequiresGrad)
        {
            var dx = x.GradForWrite(out var fresh);
            Gemm.Sgemm(false, false, rows, inF, outF, 1f, dy, outF, weight.Data, inF, fresh ? 0f : 1f, dx, inF);
        }

        if (weight.RequiresGrad)
        {
            Gemm.Sgemm(true, false, outF, inF, rows, 1f, dy, outF, x.Data, inF, 1f, weight.DenseGrad(), inF);
        }

        if (bias?.RequiresGrad == true)
        {
            AddColumnSums(dyBuffer, rows, outF, bias.DenseGrad());
        }
    }

    // dst (cols) += Σ_r src[r, :], summed in fixed chunks of rows (in parallel) and the chunks added in order.
    private static void AddColumnSums(float[] src, int rows, int cols, Span<float> dst)
    {
        const int ChunkRows = 256;
        var chunks = (rows + ChunkRows - 1) / ChunkRows;
        var partial = new float[chunks * cols];
        Par.Chunks(rows, ChunkRows, cols, (c, lo, hi) =>
        {
            var acc = partial.AsSpan(c * cols, cols);
            var v = Vector256.IsHardwareAccelerated ? cols / 8 * 8 : 0;
            ref var accRef = ref MemoryMarshal.GetReference(acc);
            for (var j = 0; j < v; j += 8)
            {
                // One 8-column strip down all rows of the chunk, in a register (no per-row call).
                var sum = Vector256<float>.Zero;
                for (var r = lo; r < hi; r++)
                {
                    sum += Vector256.LoadUnsafe(ref src[0], (nuint)((r * cols) + j));
                }

                sum.StoreUnsafe(ref accRef, (nuint)j);
            }

            for (var j = v; j < cols; j++)
            {
                var sum = 0f;
                for (var r = lo; r < hi; r++)
                {
                    sum += src[(r * cols) + j];
                }

                acc[j] = sum;
            }
        });

        for (var c = 0; c < chunks; c++)
        {
            TensorPrimitives.Add(dst, partial.AsSpan(c * cols, cols), dst);
        }
    }

    private static ArgumentException Mismatch(Tensor a, Tensor b) =>
        new($"Cannot multiply {Tensor.Format(a._shape)} by {Tensor.Format(b._shape)}.");
}
