using Persona.Neural;
using Persona.Neural.Modules;
using Persona.Neural.Optim;

namespace Persona.Benchmarks;

/// <summary>
/// The benchmark transformer: SASRec-shaped next-item model (item + learned position embeddings, causal pre-LN encoder,
/// output tied to the item table), loss at every position, either over the full catalog or against shared sampled
/// negatives. One <see cref="Step"/> = forward, backward, clipping, AdamW.
/// </summary>
public sealed class SequenceModel : Module
{
    public const int Items = 12101;
    private readonly Embedding _items;
    private readonly PositionalEmbedding _positions;
    private readonly TransformerEncoder _encoder;
    private readonly Dropout _dropout;
    private readonly AdamW _optimizer;
    private readonly int _batch;
    private readonly int _seq;
    private readonly int[] _ids;
    private readonly int[] _targets;
    private readonly bool[] _padding;
    private readonly int[] _negatives;
    private readonly Rng _rng = new(3);

    public SequenceModel(int batch = 256, int seq = 50, int dim = 64, int layers = 2, int heads = 2, int negatives = 256, float dropout = 0.2f)
    {
        var rng = new Rng(1);
        _batch = batch;
        _seq = seq;
        _items = RegisterModule("items", new Embedding(Items + 1, dim, rng, paddingIndex: Items));
        _positions = RegisterModule("positions", new PositionalEmbedding(seq, dim, rng));
        _encoder = RegisterModule("encoder", new TransformerEncoder(layers, dim, heads, 4 * dim, rng, dropout));
        _dropout = RegisterModule("dropout", new Dropout(dropout, rng));
        _optimizer = new AdamW(Parameters(), 1e-3f);
        _ids = new int[batch * seq];
        _targets = new int[batch * seq];
        _padding = new bool[batch * seq];
        _negatives = new int[negatives];
        for (var b = 0; b < batch; b++)
        {
            var length = 5 + _rng.NextInt(seq - 4); // left-padded histories of 5..seq items
            for (var s = 0; s < seq; s++)
            {
                var i = (b * seq) + s;
                var real = s >= seq - length;
                _ids[i] = real ? _rng.NextInt(Items) : Items;
                _padding[i] = !real;
                _targets[i] = real ? _rng.NextInt(Items) : -1;
            }
        }
    }

    public int Batch => _batch;

    /// <summary>One optimisation step; returns the loss. <paramref name="stopAfter"/> ends early (0 forward, 1 backward) for profiling.</summary>
    public float Step(bool sampled, int stopAfter = 2)
    {
        using var tape = new Tape();
        var x = _items.Forward(_ids, _batch, _seq);                       // (batch, seq, dim)
        x = _dropout.Forward(_positions.Forward(x));
        var h = _encoder.Forward(x, causal: true, _padding);              // (batch, seq, dim)
        Tensor loss;
        if (sampled)
        {
            for (var i = 0; i < _negatives.Length; i++)
            {
                _negatives[i] = _rng.NextInt(Items);
            }

            loss = Ops.SampledSoftmaxCrossEntropy(h, _items.Weight, _targets, _negatives);
        }
        else
        {
            // Full softmax over the catalog (the padding row is excluded from the classes).
            var catalog = Ops.Slice(_items.Weight, 0, 0, Items);                   // (items, dim)
            loss = Ops.LinearCrossEntropy(h, catalog, _targets);
        }

        if (stopAfter == 0)
        {
            return loss.ToScalar();
        }

        tape.Backward(loss);
        if (stopAfter == 1)
        {
            _optimizer.ZeroGrad();
            return loss.ToScalar();
        }

        GradientClipping.ClipByGlobalNorm(_optimizer.Parameters, 5f);
        _optimizer.Step();
        _optimizer.ZeroGrad();
        return loss.ToScalar();
    }
}
