using System.Globalization;
using System.Security.Cryptography;
using Persona.Neural.Serialization;
using Persona.Numerics;

namespace Persona.Neural.Bert.Lora;

/// <summary>One adapter: ΔW = scale·B·A on one projection of one layer. A is (rank, hidden), B is (hidden, rank).</summary>
public sealed record LoraAdapter(int Layer, LoraTargets Target, Tensor A, Tensor B);

/// <summary>
/// The trainable LoRA adapters of a BERT encoder, in layer order and q, k, v, o order within a layer. A starts
/// uniform in ±1/√hidden (PEFT's Kaiming-uniform bound) and B at zero, so a fresh set leaves the base model unchanged.
/// Saved as safetensors (tensors <c>layer.{l}.{q|k|v|o}.lora_A/B</c>) whose metadata records the rank, alpha, targets,
/// sizes and the identity of the base weights, so a file is refused on another base.
/// </summary>
public sealed class LoraAdapters
{
    private const string FormatKey = "persona.format";
    private const string FormatValue = "persona-lora-bert/1";
    private const string RankKey = "lora.rank";
    private const string AlphaKey = "lora.alpha";
    private const string TargetsKey = "lora.targets";
    private const string BaseKey = "base.identity";
    private const string LayersKey = "base.layers";
    private const string HiddenKey = "base.hidden";

    private readonly LoraAdapter[] _adapters;

    private LoraAdapters(LoraOptions options, int layers, int hidden, LoraAdapter[] adapters)
    {
        Options = options;
        LayerCount = layers;
        HiddenSize = hidden;
        _adapters = adapters;
    }

    public LoraOptions Options { get; }

    public int LayerCount { get; }

    public int HiddenSize { get; }

    /// <summary>Every adapter, layer by layer.</summary>
    public IReadOnlyList<LoraAdapter> Adapters => _adapters;

    /// <summary>The trainable tensors (A and B of every adapter), the only ones an optimiser should see.</summary>
    public IEnumerable<Tensor> Parameters => _adapters.SelectMany(a => new[] { a.A, a.B });

    /// <summary>Number of trainable values.</summary>
    public long ParameterCount => _adapters.Sum(a => (long)a.A.Length + a.B.Length);

    /// <summary>Fresh adapters for a model of <paramref name="config"/>'s sizes (B = 0: the adapted model equals the base).</summary>
    public static LoraAdapters Create(BertConfig config, LoraOptions options, ulong seed)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        int h = config.HiddenSize;
        var rng = new Rng(seed);
        float bound = 1f / MathF.Sqrt(h);
        var adapters = new List<LoraAdapter>();
        for (int l = 0; l < config.NumHiddenLayers; l++)
        {
            foreach (var target in LoraOptions.TargetOrder.Where(t => options.Targets.HasFlag(t)))
            {
                var a = Tensor.Parameter(options.Rank, h);
                rng.FillUniform(a.Data, -bound, bound);
                var b = Tensor.Parameter(h, options.Rank);
                a.Name = Name(l, target, "A");
                b.Name = Name(l, target, "B");
                adapters.Add(new LoraAdapter(l, target, a, b));
            }
        }

        return new LoraAdapters(options, config.NumHiddenLayers, h, [.. adapters]);
    }

    /// <summary>
    /// A base identity for a checkpoint folder: <c>sha256:</c> and the hex digest of its weights file, so adapters
    /// trained on one checkpoint are refused on any other.
    /// </summary>
    public static string IdentityOf(string checkpointDirectory)
    {
        using var stream = File.OpenRead(Path.Combine(checkpointDirectory, BertEncoder.WeightsFileName));
        return "sha256:" + Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>Writes the adapters and their description; <paramref name="baseIdentity"/> names the base weights.</summary>
    public void Save(string path, string baseIdentity)
    {
        ArgumentException.ThrowIfNullOrEmpty(baseIdentity);
        var tensors = new Dictionary<string, (int[] Shape, float[] Data)>();
        foreach (var adapter in _adapters)
        {
            tensors[adapter.A.Name!] = ([.. adapter.A.Shape], adapter.A.ToArray());
            tensors[adapter.B.Name!] = ([.. adapter.B.Shape], adapter.B.ToArray());
        }

        var metadata = new Dictionary<string, string>
        {
            [FormatKey] = FormatValue,
            [RankKey] = Options.Rank.ToString(CultureInfo.InvariantCulture),
            [AlphaKey] = Options.Alpha.ToString("R", CultureInfo.InvariantCulture),
            [TargetsKey] = LoraOptions.FormatTargets(Options.Targets),
            [BaseKey] = baseIdentity,
            [LayersKey] = LayerCount.ToString(CultureInfo.InvariantCulture),
            [HiddenKey] = HiddenSize.ToString(CultureInfo.InvariantCulture),
        };
        SafeTensorsFile.Write(path, tensors, metadata);
    }

    /// <summary>Reads adapters saved by <see cref="Save"/> for a model of <paramref name="config"/>'s sizes.</summary>
    /// <exception cref="InvalidDataException">
    /// The file is not a Persona LoRA file, was trained on another base (identity differs) or has other sizes.
    /// </exception>
    public static LoraAdapters Load(string path, BertConfig config, string expectedBaseIdentity)
    {
        ArgumentNullException.ThrowIfNull(config);
        ArgumentException.ThrowIfNullOrEmpty(expectedBaseIdentity);
        var file = SafeTensorsFile.Read(path);
        var meta = file.Metadata;
        if (!meta.TryGetValue(FormatKey, out var format) || format != FormatValue)
        {
            throw new InvalidDataException($"'{path}' is not a Persona LoRA adapter file (no '{FormatKey}: {FormatValue}').");
        }

        string savedBase = Required(meta, BaseKey, path);
        if (!string.Equals(savedBase, expectedBaseIdentity, StringComparison.Ordinal))
        {
            throw new InvalidDataException(
                $"'{path}' was trained on base '{savedBase}', not on this base '{expectedBaseIdentity}': adapters only fit the weights they were trained on.");
        }

        int layers = int.Parse(Required(meta, LayersKey, path), CultureInfo.InvariantCulture);
        int hidden = int.Parse(Required(meta, HiddenKey, path), CultureInfo.InvariantCulture);
        if (layers != config.NumHiddenLayers || hidden != config.HiddenSize)
        {
            throw new InvalidDataException(
                $"'{path}' fits {layers} layers of width {hidden}; this model has {config.NumHiddenLayers} of width {config.HiddenSize}.");
        }

        var options = new LoraOptions
        {
            Rank = int.Parse(Required(meta, RankKey, path), CultureInfo.InvariantCulture),
            Alpha = float.Parse(Required(meta, AlphaKey, path), CultureInfo.InvariantCulture),
            Targets = LoraOptions.ParseTargets(Required(meta, TargetsKey, path)),
        };
        options.Validate();

        var adapters = Create(config, options, seed: 0);
        foreach (var adapter in adapters._adapters)
        {
            CopyInto(file, adapter.A, path);
            CopyInto(file, adapter.B, path);
        }

        return adapters;
    }

    /// <summary>The updates of one layer's fused (3·hidden, hidden) query/key/value projection.</summary>
    internal IReadOnlyList<LowRankUpdate> QueryKeyValueUpdates(int layer) =>
        [.. LayerAdapters(layer).Where(a => a.Target != LoraTargets.Output)
            .Select(a => new LowRankUpdate(a.A, a.B, Options.Scale, BlockOffset(a.Target)))];

    /// <summary>The updates of one layer's attention output projection.</summary>
    internal IReadOnlyList<LowRankUpdate> OutputUpdates(int layer) =>
        [.. LayerAdapters(layer).Where(a => a.Target == LoraTargets.Output)
            .Select(a => new LowRankUpdate(a.A, a.B, Options.Scale, 0))];

    /// <summary>
    /// A copy of <paramref name="weights"/> with every adapter folded in, W' = W + scale·B·A; projections without an
    /// adapter (and the embeddings, norms and feed-forward) are shared, not copied.
    /// </summary>
    internal BertWeights MergeInto(BertWeights weights)
    {
        if (weights.Layers.Length != LayerCount || weights.EmbeddingNorm.Gamma.Length != HiddenSize)
        {
            throw new ArgumentException("The adapters were made for a model of other sizes.", nameof(weights));
        }

        var layers = new LayerWeights[weights.Layers.Length];
        for (int l = 0; l < layers.Length; l++)
        {
            var layer = weights.Layers[l];
            var qkv = Merge(layer.QueryKeyValue, QueryKeyValueUpdates(l));
            var output = Merge(layer.AttentionOutput, OutputUpdates(l));
            layers[l] = layer with { QueryKeyValue = qkv, AttentionOutput = output };
        }

        return new BertWeights(
            weights.WordEmbeddings, weights.PositionEmbeddings, weights.TokenTypeEmbeddings, weights.EmbeddingNorm, layers, weights.Pooler);
    }

    // W (out, in) rows [offset, offset + width) += scale · B (width, rank) · A (rank, in).
    private static DenseWeights Merge(DenseWeights dense, IReadOnlyList<LowRankUpdate> updates)
    {
        if (updates.Count == 0)
        {
            return dense;
        }

        var merged = (float[])dense.Weight.Clone();
        foreach (var u in updates)
        {
            int rank = u.A.Dim(0);
            int width = u.B.Dim(0);
            Gemm.Sgemm(false, false, width, dense.In, rank, u.Scale, u.B.Data, rank, u.A.Data, dense.In, 1f, merged.AsSpan(u.Offset * dense.In), dense.In);
        }

        return dense with { Weight = merged };
    }

    private IEnumerable<LoraAdapter> LayerAdapters(int layer) => _adapters.Where(a => a.Layer == layer);

    private int BlockOffset(LoraTargets target) => target switch
    {
        LoraTargets.Query => 0,
        LoraTargets.Key => HiddenSize,
        LoraTargets.Value => 2 * HiddenSize,
        _ => throw new ArgumentOutOfRangeException(nameof(target), target, "Not part of the fused projection."),
    };

    private static string Name(int layer, LoraTargets target, string matrix) =>
        $"layer.{layer}.{LoraOptions.ShortName(target)}.lora_{matrix}";

    private static string Required(IReadOnlyDictionary<string, string> meta, string key, string path) =>
        meta.TryGetValue(key, out var value) ? value : throw new InvalidDataException($"'{path}' lacks metadata '{key}'.");

    private static void CopyInto(SafeTensorsFile file, Tensor target, string path)
    {
        if (!file.TryGet(target.Name!, out var tensor) || !tensor.Shape.AsSpan().SequenceEqual(target.Shape.ToArray()))
        {
            throw new InvalidDataException(
                $"'{path}' lacks tensor '{target.Name}' of shape ({string.Join(", ", target.Shape)}) that its metadata implies.");
        }

        tensor.Data.CopyTo(target.Data);
    }
}
