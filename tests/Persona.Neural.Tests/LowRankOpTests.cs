using FsCheck.Fluent;
using Persona.Neural;
using Persona.Numerics;

namespace Persona.Neural.Tests;

/// <summary><see cref="Ops.LinearWithUpdates"/>: the dense layer with LoRA updates folded into column blocks.</summary>
public class LowRankOpTests
{
    public static TheoryData<GemmBackend> Backends => [GemmBackend.Managed, GemmBackend.OpenBlas];

    [GemmTheory]
    [MemberData(nameof(Backends))]
    public void LinearWithUpdates_RandomShapes_GradientsMatchFiniteDifferences(GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        var gen = from rows in Gen.Choose(1, 5)
                  from inF in Gen.Choose(1, 6)
                  from block in Gen.Choose(1, 4)
                  from rank in Gen.Choose(1, 3)
                  from seed in Property.Seed
                  select (rows, inF, block, rank, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            int outF = 3 * c.block;
            var x = GradCheck.Variable(rng, -2f, 2f, c.rows, c.inF);
            var w = GradCheck.Variable(rng, outF, c.inF);
            var b = GradCheck.Variable(rng, outF);
            var a1 = GradCheck.Variable(rng, c.rank, c.inF);
            var b1 = GradCheck.Variable(rng, c.block, c.rank);
            var a2 = GradCheck.Variable(rng, c.rank, c.inF);
            var b2 = GradCheck.Variable(rng, c.block, c.rank);
            LowRankUpdate[] updates = [new(a1, b1, 0.7f, 0), new(a2, b2, 1.5f, 2 * c.block)];
            Tensor[] wrt = [x, w, b, a1, b1, a2, b2];
            GradCheck.Check(() => Ops.LinearWithUpdates(x, w, b, updates), wrt, c.seed);
            // On an intermediate input, whose gradient buffer the dense part writes first.
            GradCheck.Check(() => Ops.LinearWithUpdates(Ops.Scale(x, 1.3f), w, b, updates), wrt, c.seed);
        });
    }

    [Fact]
    public void LinearWithUpdates_Forward_EqualsDenseLayerWithMergedWeight()
    {
        var rng = new Random(3);
        var x = GradCheck.Variable(rng, 4, 5);
        var w = GradCheck.Variable(rng, 6, 5);
        var b = GradCheck.Variable(rng, 6);
        var a = GradCheck.Variable(rng, 2, 5);
        var up = GradCheck.Variable(rng, 3, 2);
        var y = Ops.LinearWithUpdates(x, w, b, [new LowRankUpdate(a, up, 0.5f, 3)]);

        var merged = w.ToArray();
        for (int o = 0; o < 3; o++)
        {
            for (int i = 0; i < 5; i++)
            {
                merged[((3 + o) * 5) + i] += 0.5f * ((up[o, 0] * a[0, i]) + (up[o, 1] * a[1, i]));
            }
        }

        var expected = Ops.Linear(x, Tensor.Wrap(merged, 6, 5), b);
        for (int k = 0; k < y.Length; k++)
        {
            Assert.Equal(expected.Data[k], y.Data[k], 1e-5f);
        }
    }

    [Fact]
    public void LinearWithUpdates_FrozenWeightAndBias_GetNoGradient()
    {
        var rng = new Random(4);
        var x = GradCheck.Variable(rng, 3, 4);
        var w = Tensor.FromArray(GradCheck.Variable(rng, 4, 4).Data, 4, 4);
        var b = Tensor.FromArray(GradCheck.Variable(rng, 4).Data, 4);
        var a = GradCheck.Variable(rng, 2, 4);
        var up = GradCheck.Variable(rng, 4, 2);
        using (var tape = new Tape())
        {
            tape.Backward(Ops.Sum(Ops.LinearWithUpdates(x, w, b, [new LowRankUpdate(a, up, 1f, 0)])));
        }

        Assert.False(w.HasGrad);
        Assert.False(b.HasGrad);
        Assert.True(a.HasGrad && up.HasGrad && x.HasGrad);
    }

    [Fact]
    public void LinearWithUpdates_BlockOutsideWeight_Throws()
    {
        var x = Tensor.Zeros(2, 4);
        var w = Tensor.Zeros(6, 4);
        var update = new LowRankUpdate(Tensor.Zeros(2, 4), Tensor.Zeros(3, 2), 1f, 4);
        Assert.Throws<ArgumentException>(() => Ops.LinearWithUpdates(x, w, null, [update]));
    }
}
