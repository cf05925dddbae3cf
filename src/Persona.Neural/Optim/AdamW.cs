using System.Numerics;

namespace Persona.Neural.Optim;

/// <summary>
/// Adam with decoupled weight decay (Loshchilov &amp; Hutter): p ← p − lr·wd·p − lr·m̂/(√v̂ + eps).
/// Parameters whose gradient only embedding lookups wrote are updated lazily: only the touched rows move and only
/// their moments decay (the "lazy Adam" of sparse embeddings); bias correction uses the global step.
/// By default weight decay applies to tensors of rank ≥ 2 (weights, embeddings), not to biases and norm scales.
/// </summary>
public sealed class AdamW
{
    private readonly List<State> _states = [];

    public AdamW(
        IEnumerable<Tensor> parameters, float learningRate = 1e-3f, float beta1 = 0.9f, float beta2 = 0.999f,
        float eps = 1e-8f, float weightDecay = 0.01f, Func<Tensor, bool>? decays = null)
    {
        LearningRate = learningRate;
        Beta1 = beta1;
        Beta2 = beta2;
        Eps = eps;
        WeightDecay = weightDecay;
        decays ??= p => p.Rank >= 2;
        foreach (var p in parameters.Distinct())
        {
            if (!p.RequiresGrad)
            {
                throw new ArgumentException("AdamW was given a tensor that does not require gradients.", nameof(parameters));
            }

            _states.Add(new State(p, new float[p.Length], new float[p.Length], decays(p)));
        }
    }

    public float LearningRate { get; set; }

    public float Beta1 { get; }

    public float Beta2 { get; }

    public float Eps { get; }

    public float WeightDecay { get; }

    /// <summary>Steps taken so far.</summary>
    public int StepCount { get; private set; }

    public IEnumerable<Tensor> Parameters => _states.Select(s => s.Parameter);

    /// <summary>Applies one update from the current gradients (which it does not clear).</summary>
    public void Step()
    {
        StepCount++;
        var bc1 = 1f - MathF.Pow(Beta1, StepCount);
        var bc2 = 1f - MathF.Pow(Beta2, StepCount);
        foreach (var s in _states)
        {
            var p = s.Parameter;
            if (!p.HasGrad)
            {
                continue;
            }

            var decay = s.Decays ? WeightDecay : 0f;
            if (p.HasDenseGrad)
            {
                Update(p.Data, p.GradView, s.M, s.V, bc1, bc2, decay);
            }
            else if (p.TouchedRows is { } rows)
            {
                var width = p.RowWidth;
                foreach (var r in rows)
                {
                    var o = r * width;
                    Update(p.Data.Slice(o, width), p.GradView.Slice(o, width), s.M.AsSpan(o, width), s.V.AsSpan(o, width), bc1, bc2, decay);
                }
            }
        }
    }

    /// <summary>Clears every parameter's gradient (sparse ones row by row).</summary>
    public void ZeroGrad()
    {
        foreach (var s in _states)
        {
            s.Parameter.ZeroGrad();
        }
    }

    private void Update(Span<float> p, ReadOnlySpan<float> g, Span<float> m, Span<float> v, float bc1, float bc2, float decay)
    {
        var lr = LearningRate;
        var shrink = 1f - (lr * decay);
        var b1 = Beta1;
        var b2 = Beta2;
        var stepSize = lr / bc1;
        var invBc2 = 1f / bc2;
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var w = Vector<float>.Count;
            var vb1 = new Vector<float>(b1);
            var vb2 = new Vector<float>(b2);
            var c1 = new Vector<float>(1f - b1);
            var c2 = new Vector<float>(1f - b2);
            var eps = new Vector<float>(Eps);
            for (; i <= p.Length - w; i += w)
            {
                var gv = new Vector<float>(g[i..]);
                var mv = (vb1 * new Vector<float>(m[i..])) + (c1 * gv);
                var vv = (vb2 * new Vector<float>(v[i..])) + (c2 * gv * gv);
                mv.CopyTo(m[i..]);
                vv.CopyTo(v[i..]);
                var pv = new Vector<float>(p[i..]) * shrink;
                pv -= stepSize * mv / (Vector.SquareRoot(vv * invBc2) + eps);
                pv.CopyTo(p[i..]);
            }
        }

        for (; i < p.Length; i++)
        {
            m[i] = (b1 * m[i]) + ((1f - b1) * g[i]);
            v[i] = (b2 * v[i]) + ((1f - b2) * g[i] * g[i]);
            p[i] = (p[i] * shrink) - (stepSize * m[i] / (MathF.Sqrt(v[i] * invBc2) + Eps));
        }
    }

    private sealed record State(Tensor Parameter, float[] M, float[] V, bool Decays);
}
