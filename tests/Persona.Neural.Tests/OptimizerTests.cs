using Persona.Neural;
using Persona.Neural.Modules;
using Persona.Neural.Optim;

namespace Persona.Neural.Tests;

public class OptimizerTests
{
    [Fact]
    public void AdamW_DenseSteps_MatchDoublePrecisionReference()
    {
        var rng = new Random(1);
        var init = Enumerable.Range(0, 37).Select(_ => (float)rng.NextDouble() - 0.5f).ToArray();
        var p = Tensor.Variable(init, 37, 1);
        var opt = new AdamW([p], learningRate: 0.01f, weightDecay: 0.1f);
        double[] w = [.. init.Select(v => (double)v)], m = new double[37], v = new double[37];
        for (var step = 1; step <= 5; step++)
        {
            var g = Enumerable.Range(0, 37).Select(_ => rng.NextDouble() - 0.5).ToArray();
            for (var i = 0; i < 37; i++)
            {
                p.Grad[i] = (float)g[i];
            }

            opt.Step();
            opt.ZeroGrad();
            for (var i = 0; i < 37; i++)
            {
                w[i] -= 0.01 * 0.1 * w[i];
                m[i] = (0.9 * m[i]) + (0.1 * g[i]);
                v[i] = (0.999 * v[i]) + (0.001 * g[i] * g[i]);
                var mh = m[i] / (1 - Math.Pow(0.9, step));
                var vh = v[i] / (1 - Math.Pow(0.999, step));
                w[i] -= 0.01 * mh / (Math.Sqrt(vh) + 1e-8);
            }
        }

        for (var i = 0; i < 37; i++)
        {
            Assert.Equal(w[i], p.Data[i], 5);
        }
    }

    [Fact]
    public void AdamW_SparseEmbeddingGradient_UpdatesOnlyTouchedRows()
    {
        var embedding = new Embedding(10, 4, new Rng(1));
        var before = embedding.Weight.ToArray();
        var opt = new AdamW(embedding.Parameters(), learningRate: 0.1f);
        using (var tape = new Tape())
        {
            tape.Backward(Ops.Sum(embedding.Forward([2, 7, 2])));
        }

        Assert.Equal([2, 7], embedding.Weight.TouchedRows!.Order());
        opt.Step();
        var after = embedding.Weight.ToArray();
        for (var row = 0; row < 10; row++)
        {
            var changed = !before.AsSpan(row * 4, 4).SequenceEqual(after.AsSpan(row * 4, 4));
            Assert.Equal(row is 2 or 7, changed);
        }

        opt.ZeroGrad();
        Assert.All(embedding.Weight.Grad.ToArray(), g => Assert.Equal(0f, g));
        Assert.Empty(embedding.Weight.TouchedRows ?? []);
    }

    [Fact]
    public void AdamW_DefaultDecay_SkipsBiasesAndNorms()
    {
        var linear = new Linear(3, 2, new Rng(1));
        var bias = linear.Bias!.ToArray();
        var weight = linear.Weight.ToArray();
        var opt = new AdamW(linear.Parameters(), learningRate: 0.5f, weightDecay: 0.5f);
        linear.Weight.Grad.Clear();
        linear.Bias!.Grad.Clear();
        _ = Ops.Scale(linear.Weight, 1f); // gradients stay zero: only decay can move the weights
        MarkDense(linear.Weight);
        MarkDense(linear.Bias);
        opt.Step();
        Assert.Equal(bias, linear.Bias.ToArray());
        Assert.Equal(weight.Select(w => w * 0.75f), linear.Weight.ToArray());
    }

    [Fact]
    public void ClipByGlobalNorm_LargeGradients_ScaledToMaxNorm()
    {
        var a = Tensor.Variable([0f, 0f], 2);
        var b = Tensor.Variable([0f], 1);
        using (var tape = new Tape())
        {
            tape.Backward(Ops.Sum(Ops.Add(Ops.Scale(a, 3f), Ops.Scale(b, 4f))));
        }

        // a's gradient is (3, 3); b is broadcast over two elements, so its gradient is 4 + 4.
        var norm = GradientClipping.ClipByGlobalNorm([a, b], 1f);
        Assert.Equal(MathF.Sqrt(82f), norm, 4);
        Assert.Equal(1f, GradientClipping.GlobalNorm([a, b]), 4);
        Assert.Equal(3f / MathF.Sqrt(82f), a.Grad[0], 4);
    }

    [Fact]
    public void Schedules_WarmupThenDecay_HitTheirEndpoints()
    {
        var cosine = new WarmupCosineSchedule(1f, 10, 110, 0.1f);
        Assert.Equal(0.1f, cosine.At(0), 5);
        Assert.Equal(1f, cosine.At(9), 5);
        Assert.Equal(1f, cosine.At(10), 5);
        Assert.Equal(0.55f, cosine.At(60), 5);
        Assert.Equal(0.1f, cosine.At(110), 5);
        Assert.Equal(0.1f, cosine.At(500), 5);
        var linear = new WarmupLinearSchedule(2f, 4, 14);
        Assert.Equal(0.5f, linear.At(0), 5);
        Assert.Equal(2f, linear.At(4), 5);
        Assert.Equal(1f, linear.At(9), 5);
        Assert.Equal(0f, linear.At(14), 5);
    }

    private static void MarkDense(Tensor p)
    {
        using var tape = new Tape();
        tape.Backward(Ops.Scale(Ops.Sum(p), 0f));
    }
}
