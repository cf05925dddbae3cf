using FsCheck.Fluent;
using Persona.Neural;
using Persona.Numerics;

namespace Persona.Neural.Tests;

public class OpGradientTests
{
    [Fact]
    public void BinaryOps_BroadcastShapes_GradientsMatchFiniteDifferences()
    {
        var gen =
            from full in Property.Shape(1, 3)
            from keep in Gen.ArrayOf(Gen.Elements(true, false), full.Length)
            from drop in Gen.Choose(0, full.Length - 1)
            from swap in Gen.Elements(true, false)
            from op in Gen.Choose(0, 3)
            from seed in Property.Seed
            select (full, keep, drop, swap, op, seed);
        Property.ForAll(gen, c =>
        {
            var small = c.full.Select((d, i) => c.keep[i] ? d : 1).Skip(c.drop).ToArray();
            var rng = new Random(c.seed);
            var a = GradCheck.Variable(rng, c.swap ? small : c.full);
            // Division keeps the divisor away from zero.
            var b = c.op == 3 ? Signed(GradCheck.Variable(rng, 0.5f, 1.5f, c.swap ? c.full : small), rng) : GradCheck.Variable(rng, c.swap ? c.full : small);
            Func<Tensor> f = c.op switch
            {
                0 => () => a + b,
                1 => () => a - b,
                2 => () => a * b,
                _ => () => a / b,
            };
            GradCheck.Check(f, [a, b], c.seed);
        }, 30);
    }

    [Fact]
    public void ScalarOps_RandomShapes_GradientsMatch()
    {
        Property.ForAll(Gen.Zip(Property.Shape(1, 3), Property.Seed), c =>
        {
            var x = GradCheck.Variable(new Random(c.Item2), c.Item1);
            GradCheck.Check(() => Ops.AddScalar(Ops.Scale(x, -1.7f), 0.3f), [x], c.Item2);
        });
    }

    [Fact]
    public void Reductions_RandomAxes_GradientsMatch()
    {
        var gen = from shape in Property.Shape(1, 4)
                  from axis in Gen.Choose(0, shape.Length - 1)
                  from keep in Gen.Elements(true, false)
                  from kind in Gen.Choose(0, 3)
                  from seed in Property.Seed
                  select (shape, axis, keep, kind, seed);
        Property.ForAll(gen, c =>
        {
            var x = GradCheck.Variable(new Random(c.seed), c.shape);
            Func<Tensor> f = c.kind switch
            {
                0 => () => Ops.Sum(x, c.axis, c.keep),
                1 => () => Ops.Mean(x, c.axis, c.keep),
                2 => () => Ops.Mean(x),
                _ => () => Ops.Sum(x, [0, c.shape.Length - 1], c.keep),
            };
            GradCheck.Check(f, [x], c.seed);
        }, 20);
    }

    [Fact]
    public void ShapeOps_RandomPermutationsAndSlices_GradientsMatch()
    {
        var gen = from shape in Property.Shape(2, 4)
                  from perm in Gen.Shuffle(Enumerable.Range(0, shape.Length).ToArray())
                  from axis in Gen.Choose(0, shape.Length - 1)
                  from seed in Property.Seed
                  select (shape, perm, axis, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var x = GradCheck.Variable(rng, c.shape);
            var other = (int[])c.shape.Clone();
            other[c.axis] = 2;
            var z = GradCheck.Variable(rng, other);
            var start = rng.Next(c.shape[c.axis]);
            var len = 1 + rng.Next(c.shape[c.axis] - start);
            GradCheck.Check(() => Ops.Permute(Ops.Reshape(Ops.Reshape(x, -1), c.shape), c.perm.ToArray()), [x], c.seed);
            GradCheck.Check(() => Ops.Transpose(x, 0, -1), [x], c.seed);
            GradCheck.Check(() => Ops.Concat([x, z, x], c.axis), [x, z], c.seed);
            GradCheck.Check(() => Ops.Slice(x, c.axis, start, len), [x], c.seed);
        }, 15);
    }

    [Fact]
    public void Embedding_RandomIds_GradientsMatchAndRowsAreSparse()
    {
        var gen = from rows in Gen.Choose(2, 9)
                  from dim in Gen.Choose(1, 5)
                  from ids in Gen.ArrayOf(Gen.Choose(-1, 8), 6)
                  from seed in Property.Seed
                  select (rows, dim, ids: ids.Select(i => Math.Min(i, rows - 1)).ToArray(), seed);
        Property.ForAll(gen, c =>
        {
            var table = GradCheck.Variable(new Random(c.seed), c.rows, c.dim);
            using (var tape = new Tape())
            {
                tape.Backward(Ops.Sum(Ops.Embedding(table, c.ids, 2, 3)));
            }

            Assert.False(table.HasDenseGrad);
            var expected = c.ids.Where(i => i >= 0).Distinct().Order().ToArray();
            Assert.Equal(expected, (table.TouchedRows ?? []).Order().ToArray());
            GradCheck.Check(() => Ops.Embedding(table, c.ids, 2, 3), [table], c.seed);
        });
    }

    public static TheoryData<GemmBackend> Backends => [GemmBackend.Managed, GemmBackend.OpenBlas];

    [GemmTheory]
    [MemberData(nameof(Backends))]
    public void MatMul_AllFormsAndTransposes_GradientsMatch(GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        var gen = from m in Gen.Choose(1, 5)
                  from k in Gen.Choose(1, 5)
                  from n in Gen.Choose(1, 5)
                  from batch in Gen.Choose(1, 3)
                  from ta in Gen.Elements(true, false)
                  from tb in Gen.Elements(true, false)
                  from seed in Property.Seed
                  select (m, k, n, batch, ta, tb, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var a2 = GradCheck.Variable(rng, c.ta ? [c.k, c.m] : [c.m, c.k]);
            var b2 = GradCheck.Variable(rng, c.tb ? [c.n, c.k] : [c.k, c.n]);
            GradCheck.Check(() => Ops.MatMul(a2, b2, c.ta, c.tb), [a2, b2], c.seed);

            var a3 = GradCheck.Variable(rng, c.batch, 2, c.ta ? c.k : c.m, c.ta ? c.m : c.k);
            var b3 = GradCheck.Variable(rng, c.batch, 2, c.tb ? c.n : c.k, c.tb ? c.k : c.n);
            GradCheck.Check(() => Ops.MatMul(a3, b3, c.ta, c.tb), [a3, b3], c.seed);

            var x = GradCheck.Variable(rng, c.batch, c.m, c.k);
            GradCheck.Check(() => Ops.MatMul(x, b2, transposeB: c.tb), [x, b2], c.seed);
        }, 10);
    }

    [GemmTheory]
    [MemberData(nameof(Backends))]
    public void Linear_WithAndWithoutBias_GradientsMatch(GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        var gen = from shape in Property.Shape(1, 3)
                  from outF in Gen.Choose(1, 5)
                  from bias in Gen.Elements(true, false)
                  from seed in Property.Seed
                  select (shape, outF, bias, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var x = GradCheck.Variable(rng, c.shape);
            var w = GradCheck.Variable(rng, c.outF, c.shape[^1]);
            var b = GradCheck.Variable(rng, c.outF);
            GradCheck.Check(() => Ops.Linear(x, w, c.bias ? b : null), c.bias ? [x, w, b] : [x, w], c.seed);
        });
    }

    [Fact]
    public void Softmaxes_RandomRows_GradientsMatch()
    {
        Property.ForAll(Gen.Zip(Property.Shape(1, 3, 6), Property.Seed), c =>
        {
            var x = GradCheck.Variable(new Random(c.Item2), -3f, 3f, c.Item1);
            GradCheck.Check(() => Ops.Softmax(x), [x], c.Item2);
            GradCheck.Check(() => Ops.LogSoftmax(x), [x], c.Item2);
        });
    }

    [Fact]
    public void Activations_RandomInputs_GradientsMatch()
    {
        Property.ForAll(Gen.Zip(Property.Shape(1, 3, 6), Property.Seed), c =>
        {
            var x = GradCheck.Variable(new Random(c.Item2), -3f, 3f, c.Item1);
            GradCheck.Check(() => Ops.Gelu(x), [x], c.Item2);
            GradCheck.Check(() => Ops.Tanh(x), [x], c.Item2);
            GradCheck.Check(() => Ops.Sigmoid(x), [x], c.Item2);
            // ReLU has a kink at 0: keep inputs out of the finite-difference window.
            var away = Tensor.Variable(x.Data.ToArray().Select(v => MathF.Abs(v) < 0.05f ? v + 0.1f : v).ToArray(), [.. x.Shape]);
            GradCheck.Check(() => Ops.Relu(away), [away], c.Item2);
        });
    }

    [Fact]
    public void Dropout_SameSeed_GradientsMatchAndMaskIsReproducible()
    {
        Property.ForAll(Gen.Zip(Property.Shape(1, 3, 6), Property.Seed), c =>
        {
            var x = GradCheck.Variable(new Random(c.Item2), c.Item1);
            GradCheck.Check(() => Ops.Dropout(x, 0.4f, new Rng((ulong)c.Item2)), [x], c.Item2);
            var y1 = Ops.Dropout(x, 0.4f, new Rng(5)).ToArray();
            var y2 = Ops.Dropout(x, 0.4f, new Rng(5)).ToArray();
            Assert.Equal(y1, y2);
            Assert.All(y1.Zip(x.Data.ToArray()), p => Assert.True(p.First == 0f || MathF.Abs(p.First - (p.Second / 0.6f)) < 1e-5f));
        });
    }

    [Fact]
    public void MaskedFill_BroadcastMask_GradientsMatch()
    {
        var gen = from rows in Gen.Choose(1, 4)
                  from cols in Gen.Choose(1, 5)
                  from mask in Gen.ArrayOf(Gen.Elements(true, false), cols)
                  from seed in Property.Seed
                  select (rows, cols, mask, seed);
        Property.ForAll(gen, c =>
        {
            var x = GradCheck.Variable(new Random(c.seed), c.rows, c.cols);
            GradCheck.Check(() => Ops.MaskedFill(x, c.mask, [1, c.cols], -2f), [x], c.seed);
            var y = Ops.MaskedFill(x, c.mask, [c.cols], -2f);
            for (var j = 0; j < c.cols; j++)
            {
                Assert.Equal(c.mask[j] ? -2f : x[0, j], y[0, j]);
            }
        });
    }

    [Fact]
    public void CrossEntropy_WithIgnoredRows_GradientsMatchAndValueMatchesDefinition()
    {
        var gen = from rows in Gen.Choose(1, 5)
                  from classes in Gen.Choose(2, 7)
                  from seed in Property.Seed
                  select (rows, classes, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var x = GradCheck.Variable(rng, -3f, 3f, c.rows, c.classes);
            var targets = Enumerable.Range(0, c.rows).Select(r => r == 0 && c.rows > 1 ? -1 : rng.Next(c.classes)).ToArray();
            GradCheck.Check(() => Ops.CrossEntropy(x, targets), [x], c.seed);
            double expected = 0;
            var valid = 0;
            for (var r = 0; r < c.rows; r++)
            {
                if (targets[r] < 0)
                {
                    continue;
                }

                var row = Enumerable.Range(0, c.classes).Select(j => (double)x[r, j]).ToArray();
                expected += Math.Log(row.Sum(Math.Exp)) - row[targets[r]];
                valid++;
            }

            Assert.Equal(expected / valid, Ops.CrossEntropy(x, targets).ToScalar(), 4);
        });
    }

    [GemmTheory]
    [MemberData(nameof(Backends))]
    public void LinearCrossEntropy_ChunkedWithBias_MatchesUnfusedAndGradientsMatch(GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        var gen = from rows in Gen.Choose(1, 7)
                  from d in Gen.Choose(1, 4)
                  from v in Gen.Choose(2, 9)
                  from chunk in Gen.Choose(1, 30)
                  from bias in Gen.Elements(true, false)
                  from seed in Property.Seed
                  select (rows, d, v, chunk, bias, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var h = GradCheck.Variable(rng, c.rows, c.d);
            var w = GradCheck.Variable(rng, c.v, c.d);
            var b = GradCheck.Variable(rng, c.v);
            var targets = Enumerable.Range(0, c.rows).Select(r => r == 1 ? -1 : rng.Next(c.v)).ToArray();
            var bias = c.bias ? b : null;
            GradCheck.Check(() => Ops.LinearCrossEntropy(h, w, targets, bias, chunkLogits: c.chunk), c.bias ? [h, w, b] : [h, w], c.seed);
            var unfused = Ops.CrossEntropy(Ops.Linear(h, w, bias), targets).ToScalar();
            Assert.Equal(unfused, Ops.LinearCrossEntropy(h, w, targets, bias, chunkLogits: c.chunk).ToScalar(), 4);
        }, 15);
    }

    [Fact]
    public void SampledSoftmax_WithAccidentalHits_GradientsMatchAndExcludeHits()
    {
        var gen = from rows in Gen.Choose(1, 5)
                  from d in Gen.Choose(1, 4)
                  from seed in Property.Seed
                  select (rows, d, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var h = GradCheck.Variable(rng, c.rows, c.d);
            var table = GradCheck.Variable(rng, 8, c.d);
            var positives = Enumerable.Range(0, c.rows).Select(_ => rng.Next(8)).ToArray();
            int[] negatives = [positives[0], (positives[0] + 3) % 8, (positives[0] + 5) % 8];
            GradCheck.Check(() => Ops.SampledSoftmaxCrossEntropy(h, table, positives, negatives), [h, table], c.seed);

            // Reference: log-sum-exp over the positive and the negatives that differ from it.
            double expected = 0;
            for (var r = 0; r < c.rows; r++)
            {
                double Dot(int item) => Enumerable.Range(0, c.d).Sum(j => (double)h[r, j] * table[item, j]);
                var logits = new[] { Dot(positives[r]) }.Concat(negatives.Where(n => n != positives[r]).Select(Dot)).ToArray();
                expected += Math.Log(logits.Sum(Math.Exp)) - logits[0];
            }

            // An absolute tolerance: rounding both sides to 4 places fails when they straddle a rounding boundary.
            Assert.Equal(expected / c.rows, Ops.SampledSoftmaxCrossEntropy(h, table, positives, negatives).ToScalar(), 1e-4);
        });
    }

    [Fact]
    public void BceWithLogits_Weighted_GradientsMatchAndValueIsStable()
    {
        Property.ForAll(Gen.Zip(Property.Shape(1, 2, 6), Property.Seed), c =>
        {
            var rng = new Random(c.Item2);
            var x = GradCheck.Variable(rng, -4f, 4f, c.Item1);
            var targets = Enumerable.Range(0, x.Length).Select(_ => (float)rng.Next(2)).ToArray();
            var weights = Enumerable.Range(0, x.Length).Select(_ => (float)rng.NextDouble() + 0.5f).ToArray();
            GradCheck.Check(() => Ops.BceWithLogits(x, targets, weights), [x], c.Item2);
        });

        var big = Tensor.FromArray([100f, -100f], 2);
        Assert.Equal(0f, Ops.BceWithLogits(big, [1f, 0f]).ToScalar(), 5);
        Assert.Equal(100f, Ops.BceWithLogits(big, [0f, 0f]).ToScalar() * 2, 3);
    }

    [Fact]
    public void LayerNormAndL2Normalize_RandomShapes_GradientsMatch()
    {
        Property.ForAll(Gen.Zip(Property.Shape(1, 3, 6), Property.Seed), c =>
        {
            var rng = new Random(c.Item2);
            var d = c.Item1[^1];
            var x = GradCheck.Variable(rng, -2f, 2f, c.Item1);
            var gamma = GradCheck.Variable(rng, 0.5f, 1.5f, d);
            var beta = GradCheck.Variable(rng, d);
            // With one or two features the normalised value is (almost) a step function of x.
            if (d > 2)
            {
                GradCheck.Check(() => Ops.LayerNorm(x, gamma, beta), [x, gamma, beta], c.Item2);
            }

            // With one feature x/|x| is a step at 0, which a finite difference straddles when x is near 0.
            if (d > 1)
            {
                GradCheck.Check(() => Ops.L2Normalize(x), [x], c.Item2);
            }
        });
    }

    [GemmTheory]
    [MemberData(nameof(Backends))]
    public void Attention_MasksHeadsAndDropout_GradientsMatch(GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        var gen = from batch in Gen.Choose(1, 3)
                  from seq in Gen.Choose(1, 5)
                  from heads in Gen.Choose(1, 3)
                  from dh in Gen.Choose(1, 3)
                  from causal in Gen.Elements(true, false)
                  from padded in Gen.Elements(true, false)
                  from dropout in Gen.Elements(0f, 0.3f)
                  from seed in Property.Seed
                  select (batch, seq, heads, dh, causal, padded, dropout, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var dim = c.heads * c.dh;
            var q = GradCheck.Variable(rng, c.batch, c.seq, dim);
            var k = GradCheck.Variable(rng, c.batch, c.seq, dim);
            var v = GradCheck.Variable(rng, c.batch, c.seq, dim);
            var pad = c.padded ? Enumerable.Range(0, c.batch * c.seq).Select(_ => rng.Next(3) == 0).ToArray() : null;
            GradCheck.Check(() => Ops.Attention(q, k, v, c.heads, c.causal, pad, c.dropout, new Rng((ulong)c.seed)), [q, k, v], c.seed);
            var qkv = GradCheck.Variable(rng, c.batch, c.seq, 3 * dim);
            GradCheck.Check(() => Ops.AttentionPacked(qkv, c.heads, c.causal, pad, c.dropout, new Rng((ulong)c.seed)), [qkv], c.seed);
        }, 15);
    }

    [Fact]
    public void Attention_Forward_MatchesNaiveSoftmaxAttention()
    {
        var rng = new Random(11);
        const int Batch = 2, Seq = 4, Heads = 2, Dh = 3, Dim = Heads * Dh;
        var q = GradCheck.Variable(rng, Batch, Seq, Dim);
        var k = GradCheck.Variable(rng, Batch, Seq, Dim);
        var v = GradCheck.Variable(rng, Batch, Seq, Dim);
        bool[] pad = [false, false, false, true, false, false, false, false];
        var y = Ops.Attention(q, k, v, Heads, causal: true, pad);
        for (var b = 0; b < Batch; b++)
        {
            for (var h = 0; h < Heads; h++)
            {
                for (var i = 0; i < Seq; i++)
                {
                    var w = new double[Seq];
                    for (var j = 0; j < Seq; j++)
                    {
                        var masked = j > i || pad[(b * Seq) + j];
                        w[j] = masked ? double.NegativeInfinity : Enumerable.Range(0, Dh).Sum(e => (double)q[b, i, (h * Dh) + e] * k[b, j, (h * Dh) + e]) / Math.Sqrt(Dh);
                    }

                    var max = w.Max();
                    var z = w.Sum(s => Math.Exp(s - max));
                    for (var e = 0; e < Dh; e++)
                    {
                        var expected = Enumerable.Range(0, Seq).Sum(j => Math.Exp(w[j] - max) / z * v[b, j, (h * Dh) + e]);
                        Assert.Equal(expected, y[b, i, (h * Dh) + e], 5);
                    }
                }
            }
        }
    }

    private static Tensor Signed(Tensor x, Random rng)
    {
        var d = x.Data;
        for (var i = 0; i < d.Length; i++)
        {
            d[i] = rng.Next(2) == 0 ? d[i] : -d[i];
        }

        return x;
    }
}
