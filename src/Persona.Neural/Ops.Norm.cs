using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Persona.Neural;

public static partial class Ops
{
    private const int ReductionChunk = 64; // rows per partial sum of parameter gradients (fixed: deterministic bits)

    /// <summary>
    /// Layer normalisation over the last axis: (x − mean)/√(var + eps)·gamma + beta, with x (…, d), gamma and beta (d).
    /// Saves each row's mean and 1/σ; the backward recomputes x̂ instead of keeping it.
    /// </summary>
    public static Tensor LayerNorm(Tensor x, Tensor gamma, Tensor beta, float eps = 1e-5f)
    {
        var d = x._shape[^1];
        if (gamma.Length != d || beta.Length != d)
        {
            throw new ArgumentException($"LayerNorm over {d} features with gamma {gamma.Length} and beta {beta.Length}.");
        }

        var rows = x.Length / Math.Max(1, d);
        var record = Tape.ShouldRecord(x, gamma, beta);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        var stats = Tape.Scratch(2 * rows); // (rows) means, then (rows) reciprocal deviations
        Par.For(rows, d * 6, (lo, hi) =>
        {
            var xd = x.Data;
            var yd = y.Data;
            var g = gamma.Data;
            var b = beta.Data;
            for (var r = lo; r < hi; r++)
            {
                NormRow(xd.Slice(r * d, d), yd.Slice(r * d, d), g, b, eps, out var mean, out var rstd);
                stats[r] = mean;
                stats[rows + r] = rstd;
            }
        });
        if (!record)
        {
            return y;
        }

        Tape.Record(() =>
        {
            var chunks = (rows + ReductionChunk - 1) / ReductionChunk;
            var partial = new float[chunks * 2 * d]; // per chunk: dgamma (d), dbeta (d)
            var fresh = false;
            if (x.RequiresGrad)
            {
                x.GradForWrite(out fresh);
            }

            _ = y.Grad;
            var dyArr = y._grad!;
            var dxArr = x._grad;
            Par.Chunks(rows, ReductionChunk, d * 10, (c, lo, hi) =>
            {
                var pg = partial.AsSpan(c * 2 * d, d);
                var pb = partial.AsSpan((c * 2 * d) + d, d);
                var xd = x.Data;
                var g = gamma.Data;
                for (var r = lo; r < hi; r++)
                {
                    var dx = dxArr is null ? default : dxArr.AsSpan(r * d, d);
                    NormRowBackward(xd.Slice(r * d, d), dyArr.AsSpan(r * d, d), g, stats[r], stats[rows + r], pg, pb, dx, fresh);
                }
            });
            for (var c = 0; c < chunks; c++)
            {
                if (gamma.RequiresGrad)
                {
                    TensorPrimitives.Add(gamma.DenseGrad(), partial.AsSpan(c * 2 * d, d), gamma.DenseGrad());
                }

                if (beta.RequiresGrad)
                {
                    TensorPrimitives.Add(beta.DenseGrad(), partial.AsSpan((c * 2 * d) + d, d), beta.DenseGrad());
                }
            }
        });
        return y;
    }

    // One row: y = (x − mean)·rstd·g + b, rstd = 1/√(var + eps); two-pass statistics, vector loops without call overhead.
    private static void NormRow(ReadOnlySpan<float> x, Span<float> y, ReadOnlySpan<float> g, ReadOnlySpan<float> b, float eps, out float mean, out float rstd)
    {
        var d = x.Length;
        var v = Vector256.IsHardwareAccelerated ? d / 8 * 8 : 0;
        ref var xr = ref MemoryMarshal.GetReference(x);
        var acc = Vector256<float>.Zero;
        for (var i = 0; i < v; i += 8)
        {
            acc += Vector256.LoadUnsafe(ref xr, (nuint)i);
        }

        var sum = Vector256.Sum(acc);
        for (var i = v; i < d; i++)
        {
            sum += x[i];
        }

        mean = sum / d;
        var vm = Vector256.Create(mean);
        acc = Vector256<float>.Zero;
        for (var i = 0; i < v; i += 8)
        {
            var t = Vector256.LoadUnsafe(ref xr, (nuint)i) - vm;
            acc = Vector256.MultiplyAddEstimate(t, t, acc);
        }

        var sq = Vector256.Sum(acc);
        for (var i = v; i < d; i++)
        {
            sq += (x[i] - mean) * (x[i] - mean);
        }

        rstd = 1f / MathF.Sqrt((sq / d) + eps);
        var vr = Vector256.Create(rstd);
        ref var yr = ref MemoryMarshal.GetReference(y);
        ref var gr = ref MemoryMarshal.GetReference(g);
        ref var br = ref MemoryMarshal.GetReference(b);
        for (var i = 0; i < v; i += 8)
        {
            var t = (Vector256.LoadUnsafe(ref xr, (nuint)i) - vm) * vr;
            Vector256.MultiplyAddEstimate(t, Vector256.LoadUnsafe(ref gr, (nuint)i), Vector256.LoadUnsafe(ref br, (nuint)i)).StoreUnsafe(ref yr, (nuint)i);
        }

        for (var i = v; i < d; i++)
        {
            y[i] = ((x[i] - mean) * rstd * g[i]) + b[i];
        }
    }

    // One row of the backward: pg += dy·x̂, pb += dy and, when dx is not empty,
    // dx (+)= rstd·(gy − mean(gy) − x̂·mean(gy·x̂)) with gy = dy·gamma (written, not added, when overwrite).
    private static void NormRowBackward(
        ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> g, float mean, float rstd,
        Span<float> pg, Span<float> pb, Span<float> dx, bool overwrite)
    {
        var d = x.Length;
        var v = Vector256.IsHardwareAccelerated ? d / 8 * 8 : 0;
        ref var xr = ref MemoryMarshal.GetReference(x);
        ref var dyr = ref MemoryMarshal.GetReference(dy);
        ref var gr = ref MemoryMarshal.GetReference(g);
        ref var pgr = ref MemoryMarshal.GetReference(pg);
        ref var pbr = ref MemoryMarshal.GetReference(pb);
        var vm = Vector256.Create(mean);
        var vr = Vector256.Create(rstd);
        Vector256<float> sumG = Vector256<float>.Zero, sumGx = Vector256<float>.Zero;
        for (var i = 0; i < v; i += 8)
        {
            var xh = (Vector256.LoadUnsafe(ref xr, (nuint)i) - vm) * vr;
            var dyv = Vector256.LoadUnsafe(ref dyr, (nuint)i);
            Vector256.MultiplyAddEstimate(dyv, xh, Vector256.LoadUnsafe(ref pgr, (nuint)i)).StoreUnsafe(ref pgr, (nuint)i);
            (Vector256.LoadUnsafe(ref pbr, (nuint)i) + dyv).StoreUnsafe(ref pbr, (nuint)i);
            var gy = dyv * Vector256.LoadUnsafe(ref gr, (nuint)i);
            sumG += gy;
            sumGx = Vector256.MultiplyAddEstimate(gy, xh, sumGx);
        }

        var sg = Vector256.Sum(sumG);
        var sgx = Vector256.Sum(sumGx);
        for (var i = v; i < d; i++)
        {
            var xh = (x[i] - mean) * rstd;
            pg[i] += dy[i] * xh;
            pb[i] += dy[i];
            var gy = dy[i] * g[i];
            sg += gy;
            sgx += gy * xh;
        }

        if (dx.IsEmpty)
        {
            return;
        }

        var meanG = sg / d;
        var meanGx = sgx / d;
        ref var dxr = ref MemoryMarshal.GetReference(dx);
        var vmg = Vector256.Create(meanG);
        var vmgx = Vector256.Create(meanGx);
        for (var i = 0; i < v; i += 8)
        {
            var xh = (Vector256.LoadUnsafe(ref xr, (nuint)i) - vm) * vr;
            var gy = Vector256.LoadUnsafe(ref dyr, (nuint)i) * Vector256.LoadUnsafe(ref gr, (nuint)i);
            var t = (gy - vmg - (xh * vmgx)) * vr;
            if (!overwrite)
            {
                t += Vector256.LoadUnsafe(ref dxr, (nuint)i);
            }

            t.StoreUnsafe(ref dxr, (nuint)i);
        }

        for (var i = v; i < d; i++)
        {
            var xh = (x[i] - mean) * rstd;
            var t = ((dy[i] * g[i]) - meanG - (xh * meanGx)) * rstd;
            dx[i] = overwrite ? t : dx[i] + t;
        }
    }

    /// <summary>x / max(‖x‖₂, eps) over the last axis.</summary>
    public static Tensor L2Normalize(Tensor x, float eps = 1e-12f)
    {
        var d = x._shape[^1];
        var rows = x.Length / Math.Max(1, d);
        var record = Tape.ShouldRecord(x);
        var y = Tape.NewTensor((int[])x._shape.Clone(), record);
        var norms = Tape.Scratch(rows);
        for (var r = 0; r < rows; r++)
        {
            var src = x.Data.Slice(r * d, d);
            var n = MathF.Max(TensorPrimitives.Norm(src), eps);
            norms[r] = n;
            TensorPrimitives.Multiply(src, 1f / n, y.Data.Slice(r * d, d));
        }

        if (record)
        {
            Tape.Record(() =>
            {
                var dxAll = x.DenseGrad();
                for (var r = 0; r < rows; r++)
                {
                    var yr = y.Data.Slice(r * d, d);
                    var dy = y.Grad.Slice(r * d, d);
                    var dx = dxAll.Slice(r * d, d);
                    var inv = 1f / norms[r];
                    // Below eps the map is x/eps (linear); above it, dx = (dy − y·(dy·y))/‖x‖.
                    var dot = norms[r] > eps ? TensorPrimitives.Dot(dy, yr) : 0f;
                    TensorPrimitives.MultiplyAdd(dy, inv, dx, dx);
                    TensorPrimitives.MultiplyAdd(yr, -dot * inv, dx, dx);
                }
            });
        }

        return y;
    }
}
