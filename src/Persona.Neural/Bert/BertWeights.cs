using Persona.Neural.Serialization;

namespace Persona.Neural.Bert;

/// <summary>A dense layer's parameters: weight (out, in) as PyTorch stores it, bias (out).</summary>
internal sealed record DenseWeights(float[] Weight, float[] Bias, int Out, int In);

/// <summary>LayerNorm γ and β, both (hidden).</summary>
internal sealed record NormWeights(float[] Gamma, float[] Beta);

/// <summary>One encoder layer; Q, K and V are fused into a single (3·hidden, hidden) projection.</summary>
internal sealed record LayerWeights(
    DenseWeights QueryKeyValue,
    DenseWeights AttentionOutput,
    NormWeights AttentionNorm,
    DenseWeights Intermediate,
    DenseWeights Output,
    NormWeights OutputNorm);

/// <summary>All parameters of a Hugging Face <c>BertModel</c>, read from safetensors.</summary>
internal sealed class BertWeights
{
    private const string WordEmbeddingName = "embeddings.word_embeddings.weight";

    internal BertWeights(
        float[] word, float[] position, float[] tokenType, NormWeights embeddingNorm, LayerWeights[] layers, DenseWeights? pooler)
    {
        WordEmbeddings = word;
        PositionEmbeddings = position;
        TokenTypeEmbeddings = tokenType;
        EmbeddingNorm = embeddingNorm;
        Layers = layers;
        Pooler = pooler;
    }

    /// <summary>(vocab, hidden).</summary>
    public float[] WordEmbeddings { get; }

    /// <summary>(max_position, hidden).</summary>
    public float[] PositionEmbeddings { get; }

    /// <summary>(type_vocab, hidden).</summary>
    public float[] TokenTypeEmbeddings { get; }

    public NormWeights EmbeddingNorm { get; }

    public LayerWeights[] Layers { get; }

    /// <summary>(hidden, hidden) dense before tanh; null when the checkpoint has none.</summary>
    public DenseWeights? Pooler { get; }

    /// <summary>
    /// Loads the encoder's tensors, accepting a name prefix (<c>bert.</c> in BertForPreTraining and similar heads) and the
    /// old <c>gamma</c>/<c>beta</c> LayerNorm names; tensors of other heads are skipped without being read.
    /// </summary>
    public static BertWeights Load(string path, BertConfig config)
    {
        var header = SafeTensorsFile.ReadHeader(path);
        string prefix = FindPrefix(header, path);
        var file = SafeTensorsFile.Read(path, name => name.StartsWith(prefix, StringComparison.Ordinal) &&
                                                      IsEncoderTensor(name.AsSpan(prefix.Length)));
        var reader = new Reader(file, prefix, path);

        int h = config.HiddenSize;
        var word = reader.Get("embeddings.word_embeddings.weight", config.VocabSize, h);
        var position = reader.Get("embeddings.position_embeddings.weight", config.MaxPositionEmbeddings, h);
        var type = reader.Get("embeddings.token_type_embeddings.weight", config.TypeVocabSize, h);
        var embeddingNorm = reader.Norm("embeddings.LayerNorm", h);

        var layers = new LayerWeights[config.NumHiddenLayers];
        for (int l = 0; l < layers.Length; l++)
        {
            string p = $"encoder.layer.{l}.";
            var query = reader.Dense(p + "attention.self.query", h, h);
            var key = reader.Dense(p + "attention.self.key", h, h);
            var value = reader.Dense(p + "attention.self.value", h, h);
            layers[l] = new LayerWeights(
                Fuse(query, key, value),
                reader.Dense(p + "attention.output.dense", h, h),
                reader.Norm(p + "attention.output.LayerNorm", h),
                reader.Dense(p + "intermediate.dense", config.IntermediateSize, h),
                reader.Dense(p + "output.dense", h, config.IntermediateSize),
                reader.Norm(p + "output.LayerNorm", h));
        }

        var pooler = reader.Has("pooler.dense.weight") ? reader.Dense("pooler.dense", h, h) : null;
        return new BertWeights(word, position, type, embeddingNorm, layers, pooler);
    }

    private static bool IsEncoderTensor(ReadOnlySpan<char> name) =>
        name.StartsWith("embeddings.") || name.StartsWith("encoder.") || name.StartsWith("pooler.");

    private static string FindPrefix(SafeTensorsHeader header, string path)
    {
        string? best = null;
        foreach (var info in header.Tensors)
        {
            if (info.Name.EndsWith(WordEmbeddingName, StringComparison.Ordinal))
            {
                string prefix = info.Name[..^WordEmbeddingName.Length];
                if (prefix.Length == 0 || prefix.EndsWith('.'))
                {
                    // Prefer the shortest prefix: the bare BertModel, then "bert.", then deeper wrappers.
                    if (best is null || prefix.Length < best.Length)
                    {
                        best = prefix;
                    }
                }
            }
        }

        return best ?? throw new InvalidDataException(
            $"'{path}' has no '{WordEmbeddingName}' (with or without a prefix such as 'bert.'): not a BERT checkpoint.");
    }

    // (3·hidden, hidden) weight and (3·hidden) bias: rows of Q, then K, then V.
    private static DenseWeights Fuse(DenseWeights q, DenseWeights k, DenseWeights v)
    {
        var weight = new float[q.Weight.Length * 3];
        q.Weight.CopyTo(weight, 0);
        k.Weight.CopyTo(weight, q.Weight.Length);
        v.Weight.CopyTo(weight, 2 * q.Weight.Length);
        var bias = new float[q.Bias.Length * 3];
        q.Bias.CopyTo(bias, 0);
        k.Bias.CopyTo(bias, q.Bias.Length);
        v.Bias.CopyTo(bias, 2 * q.Bias.Length);
        return new DenseWeights(weight, bias, q.Out * 3, q.In);
    }

    private sealed class Reader(SafeTensorsFile file, string prefix, string path)
    {
        public bool Has(string name) => file.Contains(prefix + name);

        public float[] Get(string name, params int[] shape)
        {
            if (!file.TryGet(prefix + name, out var tensor))
            {
                throw new InvalidDataException($"'{path}' lacks tensor '{prefix + name}'.");
            }

            if (!tensor.Shape.AsSpan().SequenceEqual(shape))
            {
                throw new InvalidDataException(
                    $"'{path}': tensor '{prefix + name}' has shape [{string.Join(", ", tensor.Shape)}], " +
                    $"config.json implies [{string.Join(", ", shape)}].");
            }

            return tensor.Data;
        }

        public DenseWeights Dense(string name, int outFeatures, int inFeatures) =>
            new(Get(name + ".weight", outFeatures, inFeatures), Get(name + ".bias", outFeatures), outFeatures, inFeatures);

        public NormWeights Norm(string name, int size) =>
            Has(name + ".weight") || !Has(name + ".gamma")
                ? new NormWeights(Get(name + ".weight", size), Get(name + ".bias", size))
                : new NormWeights(Get(name + ".gamma", size), Get(name + ".beta", size));
    }
}
