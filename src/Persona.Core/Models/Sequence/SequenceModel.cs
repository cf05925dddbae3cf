using System.Text.Json;
using System.Text.Json.Serialization;
using Persona.Abstractions;
using Persona.Neural;
using Persona.Neural.Serialization;
using Persona.Numerics;

namespace Persona.Core.Models.Sequence;

/// <summary>What a stored model version says about itself (<c>manifest.json</c> beside <c>model.safetensors</c>).</summary>
public sealed record SequenceModelManifest
{
    public const string FileName = "manifest.json";
    public const string WeightsFileName = "model.safetensors";
    public const int CurrentFormat = 1;

    public int Format { get; init; } = CurrentFormat;

    public required string Version { get; init; }

    public DateTimeOffset CreatedAt { get; init; }

    public required SequenceNetworkConfig Network { get; init; }

    public SequenceTrainingOptions? Training { get; init; }

    /// <summary>Item ids in index order (index = position + 1).</summary>
    public required IReadOnlyList<string> Items { get; init; }

    /// <summary>Attribute tokens in index order (index = position + 1).</summary>
    public required IReadOnlyList<string> Attributes { get; init; }

    /// <summary>Named figures of the training run (validation NDCG@10, epochs, seconds, …).</summary>
    public IReadOnlyDictionary<string, double> Metrics { get; init; } = new Dictionary<string, double>();

    /// <summary>The serving gate's verdict when the version was trained; null for versions stored before the gate existed.</summary>
    public SequenceGateOutcome? Gate { get; init; }

    /// <summary>The manifest of a trained model: its shape, vocabulary, settings and the run's figures (plus <paramref name="extraMetrics"/>).</summary>
    public static SequenceModelManifest For(
        SequenceTrainingResult result, SequenceTrainingOptions options, string version, DateTimeOffset createdAt, IReadOnlyDictionary<string, double>? extraMetrics = null)
    {
        ArgumentNullException.ThrowIfNull(result);
        var metrics = new Dictionary<string, double>(extraMetrics ?? new Dictionary<string, double>())
        {
            ["validation_ndcg10"] = result.BestValidationNdcg10,
            ["best_epoch"] = result.BestEpoch,
            ["epochs_run"] = result.EpochsRun,
            ["training_seconds"] = result.Elapsed.TotalSeconds,
        };
        if (result.TextInitialisedItems > 0) metrics["text_initialised_items"] = result.TextInitialisedItems;
        return new SequenceModelManifest
        {
            Version = version,
            CreatedAt = createdAt,
            Network = result.Model.Network.Config,
            Training = options,
            Items = result.Model.Vocabulary.ItemIds,
            Attributes = result.Model.Vocabulary.AttributeTokens,
            Metrics = metrics,
        };
    }

    internal static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
    };
}

/// <summary>
/// A trained sequence transformer ready to serve: the network in eval mode plus its item table (id + attribute
/// representations, computed once). Encoding runs without a recording tape; instances are safe to share across threads.
/// </summary>
public sealed class SequenceModel : ISequenceModel
{
    /// <summary>Tensor name of the precomputed item table in the weights file.</summary>
    public const string ItemTableTensor = "item_table";

    private readonly float[] _itemTable; // (items + 1, dim)

    public SequenceModel(SequenceNetwork network, SequenceVocabulary vocabulary, string version, SequenceModelManifest? manifest = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        Network = network;
        Vocabulary = vocabulary;
        Version = version;
        Manifest = manifest;
        network.Eval();
        using (new Tape(recordGradients: false))
        {
            _itemTable = network.ItemTable().ToArray();
        }
    }

    public string Version { get; }

    public int Dimension => Network.Config.Dimension;

    public SequenceNetwork Network { get; }

    public SequenceVocabulary Vocabulary { get; }

    public SequenceModelManifest? Manifest { get; }

    /// <summary>The scoring table (items + 1, dim); row 0 is padding.</summary>
    public ReadOnlySpan<float> ItemTable => _itemTable;

    public float[]? EncodeUser(IReadOnlyList<SequenceStep> steps)
    {
        ArgumentNullException.ThrowIfNull(steps);
        var d = Dimension;
        var vectors = new List<float[]>();
        var types = new List<int>();
        var gaps = new List<int>();
        DateTimeOffset? previous = null;
        string? lastId = null;
        for (var i = Math.Max(0, steps.Count - (4 * Network.Config.MaxLength)); i < steps.Count; i++)
        {
            var step = steps[i];
            if (ItemVector(step.Item) is not { } v) continue;
            var typeId = (int)step.Type + 1;
            if (vectors.Count > 0 && string.Equals(step.Item.Id, lastId, StringComparison.Ordinal))
            {
                types[^1] = typeId; // a repeated step collapses, as in training
                continue;
            }
            lastId = step.Item.Id;
            vectors.Add(v);
            types.Add(typeId);
            gaps.Add(previous is { } p ? SequenceDataset.GapBucket(step.Timestamp - p) : 0);
            previous = step.Timestamp;
        }
        if (vectors.Count == 0) return null;
        var n = Math.Min(vectors.Count, Network.Config.MaxLength);
        var skip = vectors.Count - n;
        var x = new float[n * d];
        for (var t = 0; t < n; t++) vectors[skip + t].CopyTo(x, t * d);
        var typeIds = types.GetRange(skip, n).ToArray();
        var gapIds = gaps.GetRange(skip, n).ToArray();
        gapIds[0] = 0; // the window's first step has no predecessor inside it, as in training
        // One short sequence: managed GEMM on the calling thread. OpenBLAS's worker threads would spin and yield
        // around every tiny call, and a server runs many of these at once.
        using var backend = Gemm.UseBackend(GemmBackend.Managed);
        using var tape = new Tape(recordGradients: false);
        var h = Network.Encode(Tensor.Wrap(x, 1, n, d), typeIds, gapIds); // (1, n, dim)
        return h.Data.Slice((n - 1) * d, d).ToArray();
    }

    public int Row(Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var index = Vocabulary.ItemIndex(item.Id);
        return index > 0 ? index : -1;
    }

    public void RowCosines(ReadOnlySpan<float> user, ReadOnlySpan<int> rows, Span<double> cosines)
    {
        var d = Dimension;
        var userNorm = System.Numerics.Tensors.TensorPrimitives.Norm(user);
        if (user.Length != d) return;
        var norms = RowNorms();
        for (var i = 0; i < rows.Length; i++)
        {
            var row = rows[i];
            if (row < 0) continue;
            var norm = norms[row] * userNorm;
            cosines[i] = norm > 0 ? System.Numerics.Tensors.TensorPrimitives.Dot(user, _itemTable.AsSpan(row * d, d)) / norm : 0;
        }
    }

    private float[]? _rowNorms;

    /// <summary>‖row‖ of every item vector, computed once per model (a benign race may compute it twice).</summary>
    private float[] RowNorms()
    {
        if (Volatile.Read(ref _rowNorms) is { } cached) return cached;
        var d = Dimension;
        var norms = new float[_itemTable.Length / d];
        for (var r = 0; r < norms.Length; r++) norms[r] = System.Numerics.Tensors.TensorPrimitives.Norm(_itemTable.AsSpan(r * d, d));
        Volatile.Write(ref _rowNorms, norms);
        return norms;
    }

    public double? Cosine(ReadOnlySpan<float> user, Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var d = Dimension;
        if (user.Length != d) return null;
        var index = Vocabulary.ItemIndex(item.Id);
        // A learned item's row is read in place; a new item's vector is composed from its attributes.
        ReadOnlySpan<float> vector = index > 0 ? _itemTable.AsSpan(index * d, d) : ItemVector(item);
        if (vector.Length != d) return null;
        var cosine = System.Numerics.Tensors.TensorPrimitives.CosineSimilarity(user, vector);
        return float.IsFinite(cosine) ? cosine : 0;
    }

    public float[]? ItemVector(Item item)
    {
        ArgumentNullException.ThrowIfNull(item);
        var d = Dimension;
        var index = Vocabulary.ItemIndex(item.Id);
        if (index > 0) return _itemTable.AsSpan(index * d, d).ToArray();
        var attributes = Vocabulary.AttributeIndices(item);
        if (attributes.Length == 0) return null;
        var v = new float[d];
        var w = Network.Attributes.Weight.Data;
        foreach (var a in attributes) System.Numerics.Tensors.TensorPrimitives.Add(v, w.Slice(a * d, d), v);
        System.Numerics.Tensors.TensorPrimitives.Multiply(v, 1f / attributes.Length, v);
        return v;
    }

    /// <summary>Scores of every item index (0 = padding) for a user vector: dot products with the item table.</summary>
    public void ScoreAll(ReadOnlySpan<float> users, int count, Span<float> scores)
    {
        var rows = Vocabulary.ItemCount + 1;
        Gemm.Sgemm(false, true, count, rows, Dimension, 1f, users, Dimension, _itemTable, Dimension, 0f, scores, rows);
    }

    /// <summary>
    /// Encodes the histories <c>Items[..lengths[i]]</c> of data-set users (the newest <see cref="SequenceNetworkConfig.MaxLength"/>
    /// steps) into <paramref name="output"/> (count, dim), in right-padded batches through the network with the given
    /// item table. Used by training (validation) and evaluation alike.
    /// </summary>
    public static void EncodeHistories(SequenceNetwork network, ReadOnlySpan<float> itemTable, IReadOnlyList<UserSequence> users, ReadOnlySpan<int> lengths, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(network);
        var d = network.Config.Dimension;
        var maxLength = network.Config.MaxLength;
        var table = Tensor.FromArray(itemTable, itemTable.Length / d, d);
        const int Batch = 256;
        for (var b0 = 0; b0 < users.Count; b0 += Batch)
        {
            var count = Math.Min(Batch, users.Count - b0);
            var seq = 1;
            for (var i = 0; i < count; i++) seq = Math.Max(seq, Math.Min(maxLength, lengths[b0 + i]));
            var items = new int[count * seq];
            var types = new int[count * seq];
            var gaps = new int[count * seq];
            var last = new int[count];
            for (var i = 0; i < count; i++)
            {
                var n = Math.Min(maxLength, lengths[b0 + i]);
                last[i] = Math.Max(0, n - 1);
                FillWindow(users[b0 + i], lengths[b0 + i] - n, n, items.AsSpan(i * seq, seq), types.AsSpan(i * seq, seq), gaps.AsSpan(i * seq, seq));
            }
            using var tape = new Tape(recordGradients: false);
            var x = Ops.Embedding(table, items, count, seq);  // (count, seq, dim)
            var h = network.Encode(x, types, gaps);            // (count, seq, dim)
            for (var i = 0; i < count; i++) h.Data.Slice(((i * seq) + last[i]) * d, d).CopyTo(output.Slice((b0 + i) * d, d));
        }
    }

    /// <summary>
    /// Writes steps [start, start + n) of a user into right-padded rows: item indices (−1 = padding), type ids and gap
    /// buckets; the first step of the window gets gap bucket 0.
    /// </summary>
    internal static void FillWindow(UserSequence user, int start, int n, Span<int> items, Span<int> types, Span<int> gaps)
    {
        items.Fill(-1);
        types.Clear();
        gaps.Clear();
        for (var t = 0; t < n; t++)
        {
            items[t] = user.Items[start + t];
            types[t] = user.Types[start + t];
            gaps[t] = t == 0 ? 0 : user.Gaps[start + t];
        }
    }

    /// <summary>Writes the weights and manifest into <paramref name="directory"/> (created).</summary>
    public void Save(string directory, SequenceModelManifest manifest)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        Directory.CreateDirectory(directory);
        var tensors = new Dictionary<string, (int[] Shape, float[] Data)>(StringComparer.Ordinal);
        foreach (var (name, p) in Network.NamedParameters()) tensors.Add(name, ([.. p.Shape], p.ToArray()));
        tensors.Add(ItemTableTensor, ([Vocabulary.ItemCount + 1, Dimension], _itemTable));
        SafeTensorsFile.Write(Path.Combine(directory, SequenceModelManifest.WeightsFileName), tensors,
            new Dictionary<string, string> { ["format"] = "pt", ["persona.version"] = manifest.Version });
        File.WriteAllText(Path.Combine(directory, SequenceModelManifest.FileName), JsonSerializer.Serialize(manifest, SequenceModelManifest.Json));
    }

    /// <summary>Loads a model version directory written by <see cref="Save"/>.</summary>
    public static SequenceModel Load(string directory)
    {
        var manifest = ReadManifest(directory);
        var vocabulary = new SequenceVocabulary(manifest.Items, manifest.Attributes);
        var network = new SequenceNetwork(manifest.Network, new Rng(0));
        var file = SafeTensorsFile.Read(Path.Combine(directory, SequenceModelManifest.WeightsFileName));
        foreach (var (name, p) in network.NamedParameters())
        {
            if (!file.TryGet(name, out var t) || t.Data.Length != p.Length)
                throw new InvalidDataException($"Model '{directory}' lacks tensor '{name}' of {p.Length} floats.");
            t.Data.CopyTo(p.Data);
        }
        var table = file[ItemTableTensor].Data;
        return new SequenceModel(network, vocabulary, manifest.Version, manifest, table);
    }

    public static SequenceModelManifest ReadManifest(string directory) =>
        JsonSerializer.Deserialize<SequenceModelManifest>(File.ReadAllText(Path.Combine(directory, SequenceModelManifest.FileName)), SequenceModelManifest.Json)
        ?? throw new InvalidDataException($"Empty manifest in '{directory}'.");

    private SequenceModel(SequenceNetwork network, SequenceVocabulary vocabulary, string version, SequenceModelManifest manifest, float[] itemTable)
    {
        Network = network;
        Vocabulary = vocabulary;
        Version = version;
        Manifest = manifest;
        network.Eval();
        _itemTable = itemTable;
    }
}
