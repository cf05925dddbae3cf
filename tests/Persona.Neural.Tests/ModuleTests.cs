using FsCheck.Fluent;
using Persona.Neural;
using Persona.Neural.Modules;
using Persona.Numerics;

namespace Persona.Neural.Tests;

public class ModuleTests
{
    public static TheoryData<GemmBackend> Backends => [GemmBackend.Managed, GemmBackend.OpenBlas];

    [Fact]
    public void SmallModules_RandomShapes_GradientsMatchForInputsAndParameters()
    {
        var gen = from batch in Gen.Choose(1, 3)
                  from inF in Gen.Choose(3, 5)
                  from outF in Gen.Choose(1, 4)
                  from seed in Property.Seed
                  select (batch, inF, outF, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var x = GradCheck.Variable(rng, c.batch, 2, c.inF);
            var linear = new Linear(c.inF, c.outF, new Rng((ulong)c.seed));
            GradCheck.Check(() => linear.Forward(x), [x, .. linear.Parameters()], c.seed);

            var norm = new LayerNorm(c.inF);
            rng.NextBytes(new byte[1]);
            GradCheck.Check(() => norm.Forward(x), [x, .. norm.Parameters()], c.seed);

            // GELU: a ReLU kink inside the finite-difference window would fail the check for the wrong reason (ReLU is checked alone).
            var ff = new FeedForward(c.inF, c.outF + 2, new Rng((ulong)c.seed));
            GradCheck.Check(() => ff.Forward(x), [x, .. ff.Parameters()], c.seed);

            var embedding = new Embedding(6, c.inF, new Rng((ulong)c.seed), paddingIndex: 0, std: 0.5f);
            int[] ids = [1, 0, 5, 1];
            using (var tape = new Tape())
            {
                tape.Backward(Ops.Sum(embedding.Forward(ids, 2, 2)));
            }

            Assert.Equal([1, 5], embedding.Weight.TouchedRows!.Order()); // the padding row gets no gradient
            GradCheck.Check(() => embedding.Forward(ids, 2, 2), [.. embedding.Parameters()], c.seed);

            var positions = new PositionalEmbedding(4, c.inF, new Rng((ulong)c.seed), std: 0.5f);
            GradCheck.Check(() => positions.Forward(x), [x, .. positions.Parameters()], c.seed);
        }, 8);
    }

    [GemmTheory]
    [MemberData(nameof(Backends))]
    public void MultiHeadAttention_CausalAndPadded_GradientsMatch(GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        var gen = from batch in Gen.Choose(1, 2)
                  from seq in Gen.Choose(1, 4)
                  from heads in Gen.Choose(1, 2)
                  from causal in Gen.Elements(true, false)
                  from seed in Property.Seed
                  select (batch, seq, heads, causal, seed);
        Property.ForAll(gen, c =>
        {
            var rng = new Random(c.seed);
            var dim = 2 * c.heads;
            var x = GradCheck.Variable(rng, c.batch, c.seq, dim);
            var pad = Enumerable.Range(0, c.batch * c.seq).Select(i => i % c.seq == c.seq - 1 && c.seq > 1).ToArray();
            var attn = new MultiHeadAttention(dim, c.heads, new Rng((ulong)c.seed));
            GradCheck.Check(() => attn.Forward(x, c.causal, pad), [x, .. attn.Parameters()], c.seed, probesPerTensor: 8);
        }, 8);
    }

    [GemmTheory]
    [InlineData(true, GemmBackend.Managed)]
    [InlineData(false, GemmBackend.Managed)]
    [InlineData(true, GemmBackend.OpenBlas)]
    [InlineData(false, GemmBackend.OpenBlas)]
    public void TransformerEncoder_PreAndPostNorm_GradientsMatch(bool preNorm, GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        Property.ForAll(Gen.Zip(Gen.Choose(1, 4), Property.Seed), c =>
        {
            var rng = new Random(c.Item2);
            var x = GradCheck.Variable(rng, 2, c.Item1, 4);
            var encoder = new TransformerEncoder(2, 4, 2, 6, new Rng((ulong)c.Item2), dropout: 0.2f, preNorm: preNorm);
            encoder.Eval();
            GradCheck.Check(() => encoder.Forward(x, causal: true), [x, .. encoder.Parameters()], c.Item2, probesPerTensor: 4);
        }, 4);
    }

    [Fact]
    public void TransformerEncoderLayer_TrainingDropout_GradientsMatchWithReseededStreams()
    {
        var rng = new Random(5);
        var x = GradCheck.Variable(rng, 2, 3, 4);
        // A fresh layer with the same seed replays the same dropout masks on every forward.
        var reference = new TransformerEncoderLayer(4, 2, 8, new Rng(9), dropout: 0.3f);
        var parameters = reference.Parameters().ToArray();
        Tensor Forward()
        {
            var layer = new TransformerEncoderLayer(4, 2, 8, new Rng(9), dropout: 0.3f);
            foreach (var (p, src) in layer.Parameters().Zip(parameters))
            {
                p.Data.CopyTo(src.Data);
            }

            var y = layer.Forward(x, causal: false);
            return y;
        }

        // Gradients w.r.t. the input only: the parameters live in the throwaway layers.
        GradCheck.Check(Forward, [x], 5);
        Assert.NotEqual(Forward().ToArray(), ForwardEval());

        float[] ForwardEval()
        {
            reference.Eval();
            return reference.Forward(x).ToArray();
        }
    }

    [Fact]
    public void NamedParameters_TransformerEncoder_UsesDottedPaths()
    {
        var encoder = new TransformerEncoder(2, 8, 2, 16, new Rng(1));
        var names = encoder.NamedParameters().Select(p => p.Name).ToArray();
        Assert.Contains("layers.0.attn.q.weight", names);
        Assert.Contains("layers.1.ff.fc2.bias", names);
        Assert.Contains("layers.1.norm2.weight", names);
        Assert.Contains("norm.bias", names);
        Assert.Equal(names.Length, names.Distinct().Count());
        var perLayer = (4 * ((8 * 8) + 8)) + (2 * 8 * 2) + ((8 * 16) + 16) + ((16 * 8) + 8);
        Assert.Equal((2 * perLayer) + 16, encoder.ParameterCount);
    }

    [Fact]
    public void TrainEval_Propagates_AndEvalDisablesDropout()
    {
        var layer = new TransformerEncoderLayer(4, 2, 8, new Rng(2), dropout: 0.5f);
        var x = Tensor.FromArray(Enumerable.Range(0, 24).Select(i => i / 10f).ToArray(), 2, 3, 4);
        layer.Eval();
        Assert.All(layer.NamedModules(), m => Assert.False(m.Module.Training));
        Assert.Equal(layer.Forward(x).ToArray(), layer.Forward(x).ToArray());
        layer.Train();
        Assert.True(layer.FeedForward.Drop.Training);
        Assert.NotEqual(layer.Forward(x).ToArray(), layer.Forward(x).ToArray());
    }

    [Fact]
    public void Modules_SameSeed_InitialiseIdentically()
    {
        var a = new TransformerEncoder(1, 8, 2, 16, new Rng(42)).Parameters().SelectMany(p => p.ToArray()).ToArray();
        var b = new TransformerEncoder(1, 8, 2, 16, new Rng(42)).Parameters().SelectMany(p => p.ToArray()).ToArray();
        var c = new TransformerEncoder(1, 8, 2, 16, new Rng(43)).Parameters().SelectMany(p => p.ToArray()).ToArray();
        Assert.Equal(a, b);
        Assert.NotEqual(a, c);
    }
}
