using FsCheck.Fluent;
using Persona.Neural;
using Persona.Numerics;

namespace Persona.Neural.Tests;

/// <summary>
/// Fused operations and the write-first gradient path: an intermediate's first gradient is written into a fresh
/// buffer instead of cleared and added to, so these checks run the ops on intermediates (not only on leaves, whose
/// gradients always accumulate) and in both orders of first and later writers.
/// </summary>
public class FusedOpGradientTests
{
    public static TheoryData<GemmBackend> Backends => [GemmBackend.Managed, GemmBackend.OpenBlas];

    [GemmTheory]
    [MemberData(nameof(Backends))]
    public void LinearGelu_OnLeafAndIntermediate_GradientsMatchAndEqualUnfused(GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        var gen = from shape in Property.Shape(1, 3)
                  from outF in Gen.Choose(1, 6)
                  from bias in Gen.Elements(true, false)
                  from seed in Property.Seed
                  select (shape, outF, bias, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var x = GradCheck.Variable(rng, -2f, 2f, c.shape);
            var w = GradCheck.Variable(rng, c.outF, c.shape[^1]);
            var b = GradCheck.Variable(rng, c.outF);
            var bias = c.bias ? b : null;
            Tensor[] wrt = c.bias ? [x, w, b] : [x, w];
            GradCheck.Check(() => Ops.LinearGelu(x, w, bias), wrt, c.seed);
            GradCheck.Check(() => Ops.LinearGelu(Ops.Scale(x, 1.3f), w, bias), wrt, c.seed);

            var fused = Gradients(() => Ops.LinearGelu(Ops.Scale(x, 1.3f), w, bias), wrt, out var yFused);
            var unfused = Gradients(() => Ops.Gelu(Ops.Linear(Ops.Scale(x, 1.3f), w, bias)), wrt, out var yUnfused);
            AssertClose(yUnfused, yFused, 1e-6f);
            for (var i = 0; i < wrt.Length; i++)
            {
                AssertClose(unfused[i], fused[i], 1e-5f);
            }
        });
    }

    [GemmTheory]
    [MemberData(nameof(Backends))]
    public void LinearGeluWithDropout_SameSeed_GradientsMatchAndEqualUnfused(GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        var gen = from shape in Property.Shape(2, 3)
                  from outF in Gen.Choose(1, 9)
                  from seed in Property.Seed
                  select (shape, outF, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var x = GradCheck.Variable(rng, -2f, 2f, c.shape);
            var w = GradCheck.Variable(rng, c.outF, c.shape[^1]);
            var b = GradCheck.Variable(rng, c.outF);
            Tensor[] wrt = [x, w, b];
            var seed = (ulong)c.seed;
            GradCheck.Check(() => Ops.LinearGelu(Ops.Scale(x, 1.1f), w, b, 0.3f, new Rng(seed)), wrt, c.seed);

            var fused = Gradients(() => Ops.LinearGelu(x, w, b, 0.3f, new Rng(seed)), wrt, out var yFused);
            var unfused = Gradients(() => Ops.Dropout(Ops.Gelu(Ops.Linear(x, w, b)), 0.3f, new Rng(seed)), wrt, out var yUnfused);
            Assert.Equal(yUnfused, yFused);
            for (var i = 0; i < wrt.Length; i++)
            {
                AssertClose(unfused[i], fused[i], 1e-5f);
            }
        });
    }

    [Fact]
    public void DropoutAdd_SameSeed_GradientsMatchAndEqualsAddOfDropoutBitForBit()
    {
        Property.ForAll(Gen.Zip(Property.Shape(1, 3, 6), Property.Seed), c =>
        {
            var rng = new Random(c.Item2);
            var r = GradCheck.Variable(rng, c.Item1);
            var x = GradCheck.Variable(rng, c.Item1);
            var seed = (ulong)c.Item2;
            GradCheck.Check(() => Ops.DropoutAdd(r, x, 0.4f, new Rng(seed)), [r, x], c.Item2);
            GradCheck.Check(() => Ops.DropoutAdd(Ops.Scale(r, 0.7f), Ops.Scale(x, 1.5f), 0.4f, new Rng(seed)), [r, x], c.Item2);
            GradCheck.Check(() => Ops.DropoutAdd(x, x, 0.4f, new Rng(seed)), [x], c.Item2);
            GradCheck.Check(
                () =>
                {
                    var t = Ops.Scale(x, 2f);
                    return Ops.DropoutAdd(t, t, 0.3f, new Rng(seed));
                },
                [x],
                c.Item2);

            Tensor[] wrt = [r, x];
            var fused = Gradients(() => Ops.DropoutAdd(Ops.Scale(r, 0.7f), x, 0.4f, new Rng(seed)), wrt, out var yFused);
            var unfused = Gradients(() => Ops.Add(Ops.Scale(r, 0.7f), Ops.Dropout(x, 0.4f, new Rng(seed))), wrt, out var yUnfused);
            Assert.Equal(yUnfused, yFused);
            Assert.Equal(unfused[0], fused[0]);
            Assert.Equal(unfused[1], fused[1]);
        });
    }

    [GemmTheory]
    [MemberData(nameof(Backends))]
    public void MatMulAndLinear_IntermediateWithSecondConsumer_GradientsMatchInBothOrders(GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        var gen = from m in Gen.Choose(1, 5)
                  from k in Gen.Choose(1, 5)
                  from ta in Gen.Elements(true, false)
                  from tb in Gen.Elements(true, false)
                  from seed in Property.Seed
                  select (m, k, ta, tb, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var a = GradCheck.Variable(rng, c.ta ? [c.k, c.m] : [c.m, c.k]);
            var b = GradCheck.Variable(rng, c.k, c.k);
            var w = GradCheck.Variable(rng, c.k, c.ta ? c.m : c.k);
            var shift = GradCheck.Variable(rng, c.ta ? [c.k, c.m] : [c.m, c.k]);

            // The product writes t's gradient first (recorded last), then the addition accumulates onto it.
            GradCheck.Check(
                () =>
                {
                    var t = Ops.Scale(a, 1.2f);
                    var s = Ops.Add(t, shift);
                    return Ops.Add(Ops.Sum(s), Ops.Sum(Ops.MatMul(t, b, c.ta, c.tb)));
                },
                [a, b, shift],
                c.seed);

            // The addition writes first, the product and the linear map accumulate; t·t hits one tensor twice.
            GradCheck.Check(
                () =>
                {
                    var t = Ops.Scale(b, 0.8f);
                    var p = Ops.MatMul(t, t, c.ta, c.tb);
                    var l = Ops.Linear(t, t);
                    return Ops.Add(Ops.Add(p, l), t);
                },
                [b],
                c.seed);

            GradCheck.Check(() => Ops.Linear(Ops.Scale(a, 0.9f), w), [a, w], c.seed);
        }, 10);
    }

    [GemmTheory]
    [MemberData(nameof(Backends))]
    public void AttentionPacked_OnProjectedIntermediate_GradientsMatch(GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        var gen = from batch in Gen.Choose(1, 3)
                  from seq in Gen.Choose(1, 5)
                  from heads in Gen.Choose(1, 3)
                  from causal in Gen.Elements(true, false)
                  from dropout in Gen.Elements(0f, 0.3f)
                  from seed in Property.Seed
                  select (batch, seq, heads, causal, dropout, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var dim = 2 * c.heads;
            var x = GradCheck.Variable(rng, c.batch, c.seq, dim);
            var w = GradCheck.Variable(rng, 3 * dim, dim);
            var pad = Enumerable.Range(0, c.batch * c.seq).Select(_ => rng.Next(3) == 0).ToArray();
            GradCheck.Check(() => Ops.AttentionPacked(Ops.Linear(x, w), c.heads, c.causal, pad, c.dropout, new Rng((ulong)c.seed)), [x, w], c.seed);

            // Separate q, k, v intermediates, k and v the same tensor.
            GradCheck.Check(
                () =>
                {
                    var q = Ops.Scale(x, 1.1f);
                    var kv = Ops.Scale(x, 0.9f);
                    return Ops.Attention(q, kv, kv, c.heads, c.causal, pad, c.dropout, new Rng((ulong)c.seed));
                },
                [x],
                c.seed);
        }, 12);
    }

    private static float[][] Gradients(Func<Tensor> forward, Tensor[] wrt, out float[] value)
    {
        foreach (var t in wrt)
        {
            t.ZeroGrad();
        }

        using var tape = new Tape();
        var y = forward();
        value = y.ToArray();
        var weights = Tensor.FromArray(Enumerable.Range(0, y.Length).Select(i => MathF.Sin(i + 1f)).ToArray(), [.. y.Shape]);
        tape.Backward(Ops.Sum(Ops.Mul(y, weights)));
        var grads = wrt.Select(t => t.HasGrad ? t.Grad.ToArray() : new float[t.Length]).ToArray();
        foreach (var t in wrt)
        {
            t.ZeroGrad();
        }

        return grads;
    }

    private static void AssertClose(float[] expected, float[] actual, float tolerance)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.True(
                MathF.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1f, MathF.Abs(expected[i])),
                $"at {i}: expected {expected[i]}, got {actual[i]}");
        }
    }
}
