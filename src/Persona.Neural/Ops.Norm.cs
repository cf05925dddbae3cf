using System.Numerics.Tensors;

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
                var src = xd.Slice(r * d, d);
                var dst = yd.Slice(r * d, d);
                var mean = TensorPrimitives.Sum(src) / d;
                TensorPrimitives.Subtract(src, mean, dst);
                var variance = TensorPrimitives.Dot(dst, dst) / d;
                var rstd = 1f / MathF.Sqrt(variance + eps);
                TensorPrimitives.Multiply(dst, rstd, dst);
                TensorPrimitives.MultiplyAdd(dst, g, b, dst);
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
            if (x.RequiresGrad)
            {
                x.DenseGrad();
            }

            Par.Chunks(rows, ReductionChunk, d * 10, (c, lo, hi) =>
            {
                Span<float> xhat = d <= 1024 ? stackalloc float[d] : new float[d];
                Span<float> gy = d <= 1024 ? stackalloc float[d] : new float[d];
                var pg = partial.AsSpan(c * 2 * d, d);
                var pb = partial.AsSpan((c * 2 * d) + d, d);
                var xd = x.Data;
                var dyAll = y.Grad;
                var g = gamma.Data;
                for (var r = lo; r < hi; r++)
                {
                    var dy = dyAll.Slice(r * d, d);
                    var rstd = stats[rows + r];
                    TensorPrimitives.Subtract(xd.Slice(r * d, d), stats[r], xhat);
                    TensorPrimitives.Multiply(xhat, rstd, xhat);
                    TensorPrimitives.MultiplyAdd(dy, xhat, pg, pg);
                    TensorPrimitives.Add(pb, dy, pb);
                    if (!x.RequiresGrad)
                    {
                        continue;
                    }

                    // dx = rstd·(g − mean(g) − x̂·mean(g·x̂)), g = dy·gamma
                    TensorPrimitives.Multiply(dy, g, gy);
                    var meanG = TensorPrimitives.Sum(gy) / d;
                    var meanGx = TensorPrimitives.Dot(gy, xhat) / d;
                    var dx = x.Grad.Slice(r * d, d);
                    TensorPrimitives.MultiplyAdd(gy, rstd, dx, dx);
                    TensorPrimitives.Add(dx, -rstd * meanG, dx);
                    TensorPrimitives.MultiplyAdd(xhat, -rstd * meanGx, dx, dx);
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
