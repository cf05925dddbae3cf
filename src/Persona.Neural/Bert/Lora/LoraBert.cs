using System.Numerics.Tensors;
using Persona.Neural.Text;

namespace Persona.Neural.Bert.Lora;

/// <summary>
/// A BERT encoder on the <see cref="Tape"/> with frozen base weights and trainable LoRA adapters, for fine-tuning
/// sentence vectors. The base tensors wrap the <see cref="BertEncoder"/>'s arrays (nothing is copied) and never get
/// gradients, so a backward pass computes only input gradients through the frozen layers plus the thin adapter GEMMs.
/// Same model as <see cref="BertEncoder"/> (post-LN, positions from 0, padded keys hidden); with B = 0 it gives the
/// same hidden states. No dropout: the adapters are few and the runs short.
/// </summary>
public sealed class LoraBert
{
    private readonly BertEncoder _base;
    private readonly FrozenLayer[] _layers;
    private readonly Tensor _embeddingGamma;
    private readonly Tensor _embeddingBeta;
    private readonly IReadOnlyList<LowRankUpdate>[] _qkvUpdates;
    private readonly IReadOnlyList<LowRankUpdate>[] _outputUpdates;

    private LoraBert(BertEncoder baseEncoder, LoraAdapters adapters)
    {
        var config = baseEncoder.Config;
        if (config.HiddenAct is not ("gelu" or "relu"))
        {
            throw new NotSupportedException($"Fine-tuning supports hidden_act 'gelu' (exact) and 'relu', not '{config.HiddenAct}'.");
        }

        if (adapters.LayerCount != config.NumHiddenLayers || adapters.HiddenSize != config.HiddenSize)
        {
            throw new ArgumentException(
                $"Adapters for {adapters.LayerCount} layers of width {adapters.HiddenSize} do not fit a model with " +
                $"{config.NumHiddenLayers} of width {config.HiddenSize}.", nameof(adapters));
        }

        _base = baseEncoder;
        Adapters = adapters;
        var weights = baseEncoder.Weights;
        int h = config.HiddenSize;
        _embeddingGamma = Tensor.Wrap(weights.EmbeddingNorm.Gamma, h);
        _embeddingBeta = Tensor.Wrap(weights.EmbeddingNorm.Beta, h);
        _layers = [.. weights.Layers.Select(FrozenLayer.Wrap)];
        _qkvUpdates = [.. Enumerable.Range(0, _layers.Length).Select(adapters.QueryKeyValueUpdates)];
        _outputUpdates = [.. Enumerable.Range(0, _layers.Length).Select(adapters.OutputUpdates)];
    }

    public BertConfig Config => _base.Config;

    /// <summary>The base model's tokenizer.</summary>
    public WordPieceTokenizer Tokenizer => _base.Tokenizer;

    /// <summary>The base model's sequence limit, special tokens included.</summary>
    public int MaxLength => _base.MaxLength;

    /// <summary>The trainable part.</summary>
    public LoraAdapters Adapters { get; }

    /// <summary>Fresh adapters (B = 0) on <paramref name="baseEncoder"/>'s weights.</summary>
    public static LoraBert Create(BertEncoder baseEncoder, LoraOptions? options = null, ulong seed = 0)
    {
        ArgumentNullException.ThrowIfNull(baseEncoder);
        return new LoraBert(baseEncoder, LoraAdapters.Create(baseEncoder.Config, options ?? new LoraOptions(), seed));
    }

    /// <summary>Given (for example loaded) adapters on <paramref name="baseEncoder"/>'s weights.</summary>
    public static LoraBert Create(BertEncoder baseEncoder, LoraAdapters adapters)
    {
        ArgumentNullException.ThrowIfNull(baseEncoder);
        ArgumentNullException.ThrowIfNull(adapters);
        return new LoraBert(baseEncoder, adapters);
    }

    /// <summary>
    /// Fresh adapters on random base weights of <paramref name="config"/>'s sizes and a placeholder vocabulary: for
    /// timing training steps at a real model's shape; feed it <see cref="TokenizedBatch"/>es of ids.
    /// </summary>
    public static LoraBert CreateWithRandomBase(BertConfig config, LoraOptions? options = null, ulong seed = 0) =>
        Create(BertEncoder.WithRandomWeights(config, seed), options, seed + 1);

    /// <summary>An inference encoder with the adapters merged into the base weights (see <see cref="BertEncoder.MergeAdapters"/>).</summary>
    public BertEncoder Merge() => _base.MergeAdapters(Adapters);

    /// <summary>Tokenises texts as the base encoder does, truncated to <paramref name="maxLength"/> (default <see cref="MaxLength"/>).</summary>
    public TokenizedBatch Tokenize(IReadOnlyList<string> texts, int? maxLength = null) =>
        Tokenizer.EncodeBatch(texts, pairs: null, Math.Min(maxLength ?? MaxLength, MaxLength));

    /// <summary>Last hidden states (batch, seq, hidden), recorded on the current tape when it records.</summary>
    public Tensor HiddenStates(TokenizedBatch batch)
    {
        _base.Validate(batch);
        int rows = batch.BatchSize;
        int seq = batch.SequenceLength;
        int heads = Config.NumAttentionHeads;
        float eps = (float)Config.LayerNormEps;
        var padding = new bool[rows * seq];
        for (int i = 0; i < padding.Length; i++)
        {
            padding[i] = batch.AttentionMask[i] == 0;
        }

        var x = Ops.LayerNorm(Embed(batch), _embeddingGamma, _embeddingBeta, eps); // (batch, seq, hidden)
        for (int l = 0; l < _layers.Length; l++)
        {
            var layer = _layers[l];
            var qkv = Ops.LinearWithUpdates(x, layer.QueryKeyValue, layer.QueryKeyValueBias, _qkvUpdates[l]); // (batch, seq, 3·hidden)
            var context = Ops.AttentionPacked(qkv, heads, keyPadding: padding);                                // (batch, seq, hidden)
            var attended = Ops.LinearWithUpdates(context, layer.Output, layer.OutputBias, _outputUpdates[l]);  // (batch, seq, hidden)
            var a = Ops.LayerNorm(Ops.Add(x, attended), layer.AttentionGamma, layer.AttentionBeta, eps);
            var inner = Config.HiddenAct == "gelu"
                ? Ops.LinearGelu(a, layer.Intermediate, layer.IntermediateBias)                                  // (batch, seq, intermediate)
                : Ops.Relu(Ops.Linear(a, layer.Intermediate, layer.IntermediateBias));
            var fed = Ops.Linear(inner, layer.FeedForwardOutput, layer.FeedForwardOutputBias);                   // (batch, seq, hidden)
            x = Ops.LayerNorm(Ops.Add(a, fed), layer.OutputGamma, layer.OutputBeta, eps);
        }

        return x;
    }

    /// <summary>
    /// Sentence vectors (batch, hidden): the hidden states averaged over the attention mask, then L2-normalised
    /// (the sentence-transformers convention and <see cref="BertOutput.SentenceEmbedding"/>).
    /// </summary>
    public Tensor SentenceVectors(TokenizedBatch batch)
    {
        var hidden = HiddenStates(batch); // (batch, seq, hidden)
        int rows = batch.BatchSize;
        int seq = batch.SequenceLength;
        var weights = new float[rows * seq]; // (batch, 1, seq): mask / count
        for (int r = 0; r < rows; r++)
        {
            var mask = batch.RowMask(r);
            int count = 0;
            foreach (int m in mask)
            {
                count += m != 0 ? 1 : 0;
            }

            for (int t = 0; t < seq; t++)
            {
                weights[(r * seq) + t] = mask[t] != 0 ? 1f / count : 0f;
            }
        }

        var pooled = Ops.MatMul(Tensor.Wrap(weights, rows, 1, seq), hidden); // (batch, 1, hidden)
        return Ops.L2Normalize(Ops.Reshape(pooled, rows, Config.HiddenSize));
    }

    /// <summary>Sentence vectors of <paramref name="texts"/> without recording, (texts, hidden) row-major.</summary>
    public float[] Encode(IReadOnlyList<string> texts, int? maxLength = null, int batchSize = 64)
    {
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        int h = Config.HiddenSize;
        var result = new float[texts.Count * h];
        for (int first = 0; first < texts.Count; first += batchSize)
        {
            int count = Math.Min(batchSize, texts.Count - first);
            using var tape = new Tape(recordGradients: false);
            var vectors = SentenceVectors(Tokenize([.. texts.Skip(first).Take(count)], maxLength));
            vectors.Data.CopyTo(result.AsSpan(first * h, count * h));
        }

        return result;
    }

    // (batch, seq, hidden) = word[id] + position[t] + type[tt], before the embedding LayerNorm; no gradient.
    private Tensor Embed(TokenizedBatch batch)
    {
        int seq = batch.SequenceLength;
        int h = Config.HiddenSize;
        var weights = _base.Weights;
        var x = Tape.NewTensor([batch.BatchSize, seq, h], requiresGrad: false);
        var data = x.Data;
        for (int i = 0; i < batch.BatchSize * seq; i++)
        {
            var row = data.Slice(i * h, h);
            TensorPrimitives.Add(
                weights.WordEmbeddings.AsSpan(batch.InputIds[i] * h, h), weights.PositionEmbeddings.AsSpan((i % seq) * h, h), row);
            TensorPrimitives.Add(row, weights.TokenTypeEmbeddings.AsSpan(batch.TokenTypeIds[i] * h, h), row);
        }

        return x;
    }

    // One encoder layer's base parameters as tensors over the loaded arrays: no copies, no gradients.
    private sealed record FrozenLayer(
        Tensor QueryKeyValue, Tensor QueryKeyValueBias, Tensor Output, Tensor OutputBias, Tensor AttentionGamma, Tensor AttentionBeta,
        Tensor Intermediate, Tensor IntermediateBias, Tensor FeedForwardOutput, Tensor FeedForwardOutputBias, Tensor OutputGamma, Tensor OutputBeta)
    {
        public static FrozenLayer Wrap(LayerWeights layer) => new(
            Weight(layer.QueryKeyValue), Bias(layer.QueryKeyValue),
            Weight(layer.AttentionOutput), Bias(layer.AttentionOutput),
            Tensor.Wrap(layer.AttentionNorm.Gamma, layer.AttentionNorm.Gamma.Length),
            Tensor.Wrap(layer.AttentionNorm.Beta, layer.AttentionNorm.Beta.Length),
            Weight(layer.Intermediate), Bias(layer.Intermediate),
            Weight(layer.Output), Bias(layer.Output),
            Tensor.Wrap(layer.OutputNorm.Gamma, layer.OutputNorm.Gamma.Length),
            Tensor.Wrap(layer.OutputNorm.Beta, layer.OutputNorm.Beta.Length));

        private static Tensor Weight(DenseWeights dense) => Tensor.Wrap(dense.Weight, dense.Out, dense.In);

        private static Tensor Bias(DenseWeights dense) => Tensor.Wrap(dense.Bias, dense.Out);
    }
}
