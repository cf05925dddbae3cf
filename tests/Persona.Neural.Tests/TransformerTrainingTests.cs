using System.Diagnostics;
using Persona.Neural;
using Persona.Neural.Modules;
using Persona.Neural.Optim;

namespace Persona.Neural.Tests;

public class TransformerTrainingTests
{
    private const int Vocab = 24;
    private const int Dim = 32;
    private const int Seq = 12;
    private const int Batch = 32;

    /// <summary>Sequences follow a fixed random permutation: token t is followed by perm[t].</summary>
    [Fact]
    public void TwoLayerTransformer_PermutationNextToken_ReachesNinetyFivePercent()
    {
        var clock = Stopwatch.StartNew();
        var model = new TinyLm(new Rng(2024));
        var perm = Enumerable.Range(0, Vocab).ToArray();
        var data = new Rng(7);
        data.Shuffle(perm.AsSpan());
        const int Steps = 160;
        var opt = new AdamW(model.Parameters(), weightDecay: 0.01f);
        var schedule = new WarmupCosineSchedule(3e-3f, 10, Steps, 1e-4f);
        var losses = new List<float>();
        for (var step = 0; step < Steps; step++)
        {
            var (ids, targets) = Sample(data, perm, Batch);
            using var tape = new Tape();
            var loss = model.Loss(ids, targets, Batch);
            tape.Backward(loss);
            GradientClipping.ClipByGlobalNorm(opt.Parameters, 1f);
            opt.LearningRate = schedule.At(step);
            opt.Step();
            opt.ZeroGrad();
            losses.Add(loss.ToScalar());
        }

        var accuracy = model.Accuracy(data, perm);
        Assert.True(accuracy >= 0.95, $"accuracy {accuracy:P1}; first/last loss {losses[0]:F3}/{losses[^1]:F3}");
        Assert.True(losses[^1] < losses[0] / 4);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"took {clock.Elapsed}");
    }

    [Fact]
    public void Training_SameSeeds_GivesIdenticalLosses()
    {
        float[] Run()
        {
            var model = new TinyLm(new Rng(5), dropout: 0.1f);
            var perm = Enumerable.Range(0, Vocab).ToArray();
            var data = new Rng(8);
            data.Shuffle(perm.AsSpan());
            var opt = new AdamW(model.Parameters(), learningRate: 1e-3f);
            var result = new float[3];
            for (var step = 0; step < result.Length; step++)
            {
                var (ids, targets) = Sample(data, perm, 8);
                using var tape = new Tape();
                var loss = model.Loss(ids, targets, 8);
                tape.Backward(loss);
                opt.Step();
                opt.ZeroGrad();
                result[step] = loss.ToScalar();
            }

            return result;
        }

        Assert.Equal(Run(), Run());
    }

    private static (int[] Ids, int[] Targets) Sample(Rng rng, int[] perm, int batch)
    {
        var ids = new int[batch * Seq];
        var targets = new int[batch * Seq];
        for (var b = 0; b < batch; b++)
        {
            var t = rng.NextInt(Vocab);
            for (var s = 0; s < Seq; s++)
            {
                ids[(b * Seq) + s] = t;
                t = perm[t];
                targets[(b * Seq) + s] = t;
            }
        }

        return (ids, targets);
    }

    /// <summary>Token + position embeddings, a causal 2-layer pre-LN encoder, output tied to the token table.</summary>
    private sealed class TinyLm : Module
    {
        private readonly Embedding _tokens;
        private readonly PositionalEmbedding _positions;
        private readonly TransformerEncoder _encoder;

        public TinyLm(Rng rng, float dropout = 0f)
        {
            _tokens = RegisterModule("tokens", new Embedding(Vocab, Dim, rng, std: 0.1f));
            _positions = RegisterModule("positions", new PositionalEmbedding(Seq, Dim, rng));
            _encoder = RegisterModule("encoder", new TransformerEncoder(2, Dim, 2, 2 * Dim, rng, dropout));
        }

        public Tensor Hidden(int[] ids, int batch) =>
            _encoder.Forward(_positions.Forward(_tokens.Forward(ids, batch, Seq)), causal: true); // (batch, seq, dim)

        public Tensor Loss(int[] ids, int[] targets, int batch) =>
            Ops.LinearCrossEntropy(Hidden(ids, batch), _tokens.Weight, targets);

        public double Accuracy(Rng data, int[] perm)
        {
            Eval();
            var (ids, targets) = Sample(data, perm, 64);
            using var tape = new Tape(recordGradients: false);
            var logits = Ops.MatMul(Hidden(ids, 64), _tokens.Weight, transposeB: true); // (64, seq, vocab)
            var correct = 0;
            for (var i = 0; i < targets.Length; i++)
            {
                var row = logits.Data.Slice(i * Vocab, Vocab);
                correct += row.IndexOf(System.Numerics.Tensors.TensorPrimitives.Max(row)) == targets[i] ? 1 : 0;
            }

            Train();
            return (double)correct / targets.Length;
        }
    }
}
