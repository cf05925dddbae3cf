using System.Numerics.Tensors;
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
                if (a.RequiresGrad)
                {
                    if (!transposeA)
                    {
                        Gemm.SgemmBatched(false, !transposeB, m, k, n, 1f, dc, n, sc, b.Data, ldb, sb, 1f, a.DenseGrad(), k, sa, batch);
                    }
                    else
                    {
                        Gemm.SgemmBatched(transposeB, true, k, m, n, 1f, b.Data, ldb, sb, dc, n, sc, 1f, a.DenseGrad(), m, sa, batch);
                    }
                }

                if (b.RequiresGrad)
                {
                    if (!transposeB)
                    {
                        Gemm.SgemmBatched(!transposeA, false, k, n, m, 1f, a.Data, lda, sa, dc, n, sc, 1f, b.DenseGrad(), n, sb, batch);
                    }
                    else
                    {
                        Gemm.SgemmBatched(true, transposeA, n, k, m, 1f, dc, n, sc, a.Data, lda, sa, 1f, b.DenseGrad(), k, sb, batch);
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
        var inF = weight._shape[1];
        var outF = weight._shape[0];
        if (weight.Rank != 2 || x._shape[^1] != inF || (bias is not null && bias.Length != outF))
        {
            throw new ArgumentException($"Linear of {Tensor.Format(x._shape)} with weight {Tensor.Format(weight._shape)}.");
        }

        var rows = x.Length / Math.Max(1, inF);
        var record = Tape.ShouldRecord(x, weight, bias);
        var y = Tape.NewTensor([.. x._shape[..^1], outF], record);
        var yd = y.Data;
        if (bias is not null)
        {
            var bd = bias.Data;
            for (var r = 0; r < rows; r++)
            {
                bd.CopyTo(yd.Slice(r * outF, outF));
            }
        }

        Gemm.Sgemm(false, true, rows, outF, inF, 1f, x.Data, inF, weight.Data, inF, bias is null ? 0f : 1f, yd, outF);
        if (record)
        {
            Tape.Record(() =>
            {
                var dy = y.Grad;
                if (x.RequiresGrad)
                {
                    Gemm.Sgemm(false, false, rows, inF, outF, 1f, dy, outF, weight.Data, inF, 1f, x.DenseGrad(), inF);
                }

                if (weight.RequiresGrad)
                {
                    Gemm.Sgemm(true, false, outF, inF, rows, 1f, dy, outF, x.Data, inF, 1f, weight.DenseGrad(), inF);
                }

                if (bias?.RequiresGrad == true)
                {
                    var db = bias.DenseGrad();
                    for (var r = 0; r < rows; r++)
                    {
                        TensorPrimitives.Add(db, dy.Slice(r * outF, outF), db);
                    }
                }
            });
        }

        return y;
    }

    private static ArgumentException Mismatch(Tensor a, Tensor b) =>
        new($"Cannot multiply {Tensor.Format(a._shape)} by {Tensor.Format(b._shape)}.");
}
