using System.Numerics.Tensors;
using Persona.Text;

namespace Persona.Core.Search;

/// <summary>Hyper-parameters of <see cref="SemanticEncoder.Train"/>.</summary>
public sealed class SemanticEncoderOptions
{
    public const int DefaultDimension = 64;
    public const int DefaultBuckets = 1 << 17;

    public int Dimension { get; init; } = DefaultDimension;
    /// <summary>Hash buckets shared by words, character trigrams and Chinese n-grams.</summary>
    public int Buckets { get; init; } = DefaultBuckets;
    public int Epochs { get; init; } = 8;
    public int BatchSize { get; init; } = 256;
    /// <summary>Adagrad step size.</summary>
    public float LearningRate { get; init; } = 0.2f;
    /// <summary>Softmax temperature of the in-batch contrastive loss.</summary>
    public float Temperature { get; init; } = 0.05f;
    public int Seed { get; init; } = 17;

    public void Validate()
    {
        if (Dimension is < 2 or > 1024) throw new ArgumentOutOfRangeException(nameof(Dimension), Dimension, "Dimension must be in 2..1024.");
        if (Buckets is < 16 or > 1 << 24) throw new ArgumentOutOfRangeException(nameof(Buckets), Buckets, "Buckets must be in 16..2^24.");
        if (Epochs < 0) throw new ArgumentOutOfRangeException(nameof(Epochs), Epochs, "Epochs must be ≥ 0.");
        if (BatchSize < 2) throw new ArgumentOutOfRangeException(nameof(BatchSize), BatchSize, "BatchSize must be ≥ 2.");
        if (!(LearningRate > 0) || !(Temperature > 0)) throw new ArgumentOutOfRangeException(nameof(LearningRate), "LearningRate and Temperature must be > 0.");
    }
}

/// <summary>
/// A subword-embedding text encoder trained in-domain: a text is the L2-normalised mean of the embeddings of its
/// hashed features (analysed words, boundary-marked character trigrams of Latin words, Chinese character unigrams
/// and bigrams), so unseen words and typos still land near their relatives. Trained contrastively with in-batch
/// negatives (symmetric InfoNCE) on (title, brand + category) pairs, (title fragment, item) pairs and
/// (query, clicked item) pairs from search logs. Immutable once trained; any number of threads may encode.
/// </summary>
public sealed class SemanticEncoder : ITextEncoder
{
    private readonly float[] _table; // (buckets, dim)

    private SemanticEncoder(float[] table, int dimension, int buckets, string version)
    {
        _table = table;
        Dimension = dimension;
        Buckets = buckets;
        Version = version;
    }

    public int Dimension { get; }
    public int Buckets { get; }
    public string Version { get; }

    /// <summary>Bytes held by the embedding table.</summary>
    public long MemoryBytes => (long)_table.Length * sizeof(float);

    private const int FileMagic = 0x31455350; // "PSE1", little-endian

    /// <summary>Writes the embedding table (dimension, buckets, then the floats, little-endian) to <paramref name="stream"/>.</summary>
    public void WriteTo(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("The encoder file format is little-endian.");
        using var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        writer.Write(FileMagic);
        writer.Write(Dimension);
        writer.Write(Buckets);
        writer.Write(System.Runtime.InteropServices.MemoryMarshal.AsBytes(_table.AsSpan()));
    }

    /// <summary>Reads an encoder written by <see cref="WriteTo"/>; the version is the caller's (it lives beside the table).</summary>
    public static SemanticEncoder ReadFrom(Stream stream, string version)
    {
        ArgumentNullException.ThrowIfNull(stream);
        ArgumentException.ThrowIfNullOrEmpty(version);
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("The encoder file format is little-endian.");
        using var reader = new BinaryReader(stream, System.Text.Encoding.UTF8, leaveOpen: true);
        if (reader.ReadInt32() != FileMagic) throw new InvalidDataException("Not a Persona text encoder file.");
        var dimension = reader.ReadInt32();
        var buckets = reader.ReadInt32();
        if (dimension is < 2 or > 1024 || buckets is < 16 or > 1 << 24) throw new InvalidDataException($"Encoder shape {buckets}×{dimension} is out of range.");
        var table = new float[(long)buckets * dimension];
        stream.ReadExactly(System.Runtime.InteropServices.MemoryMarshal.AsBytes(table.AsSpan()));
        return new SemanticEncoder(table, dimension, buckets, version);
    }

    /// <summary>Trained at start-up on the shop's own catalog and clicks.</summary>
    public string Kind => "in-domain";

    public void EncodeBatch(IReadOnlyList<string?> texts, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (output.Length != texts.Count * Dimension) throw new ArgumentException($"Output must hold {texts.Count}×{Dimension} floats.", nameof(output));
        var features = new List<int>();
        for (var i = 0; i < texts.Count; i++)
        {
            features.Clear();
            Features(texts[i], Buckets, features);
            Pool(features, output.Slice(i * Dimension, Dimension));
        }
    }

    /// <summary>Unit vector of <paramref name="text"/>; all zeros when it has no features.</summary>
    public float[] Encode(string? text)
    {
        var features = new List<int>();
        Features(text, Buckets, features);
        var v = new float[Dimension];
        Pool(features, v);
        return v;
    }

    private void Pool(List<int> features, Span<float> output)
    {
        output.Clear();
        if (features.Count == 0) return;
        foreach (var f in features) TensorPrimitives.Add(output, _table.AsSpan(f * Dimension, Dimension), output);
        var norm = TensorPrimitives.Norm(output);
        if (norm > 0) TensorPrimitives.Divide(output, norm, output);
    }

    /// <summary>Hashed feature ids of a text (duplicates kept: they weight the mean).</summary>
    public static void Features(string? text, int buckets, List<int> features)
    {
        ArgumentNullException.ThrowIfNull(features);
        foreach (var term in TextAnalyzer.Analyze(text))
        {
            features.Add(Hash("w", term, buckets));
            if (term.Length >= 4 && !TextAnalyzer.IsCjk(term[0]))
            {
                var marked = "<" + term + ">";
                for (var i = 0; i + 3 <= marked.Length; i++) features.Add(Hash("g", marked.Substring(i, 3), buckets));
            }
        }
    }

    /// <summary>FNV-1a over a namespace prefix and the text: stable across processes, unlike string.GetHashCode.</summary>
    private static int Hash(string prefix, string s, int buckets)
    {
        var h = 2166136261u;
        foreach (var c in prefix) h = (h ^ c) * 16777619u;
        h = (h ^ '\u0001') * 16777619u;
        foreach (var c in s) h = (h ^ c) * 16777619u;
        return (int)(h % (uint)buckets);
    }

    /// <summary>
    /// Trains an encoder on (anchor, positive) text pairs. Pairs whose positives are the same text are not used as
    /// each other's negatives. Cost per epoch: O(pairs · (features · dim + batch · dim)).
    /// </summary>
    public static SemanticEncoder Train(IReadOnlyList<(string Anchor, string Positive)> pairs, SemanticEncoderOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pairs);
        options ??= new SemanticEncoderOptions();
        options.Validate();
        var dim = options.Dimension;
        var buckets = options.Buckets;
        var random = new Random(options.Seed);
        var table = new float[(long)buckets * dim];
        for (var i = 0; i < table.Length; i++) table[i] = (float)(random.NextDouble() * 2 - 1) * 0.1f;
        var encoder = new SemanticEncoder(table, dim, buckets, $"text-{DateTimeOffset.UtcNow:yyyyMMddTHHmmssZ}");
        if (pairs.Count < 2 || options.Epochs == 0) return encoder;

        var anchors = new int[pairs.Count][];
        var positives = new int[pairs.Count][];
        var positiveKey = new int[pairs.Count];
        var keys = new Dictionary<string, int>(StringComparer.Ordinal);
        var scratch = new List<int>();
        for (var i = 0; i < pairs.Count; i++)
        {
            scratch.Clear();
            Features(pairs[i].Anchor, buckets, scratch);
            anchors[i] = [.. scratch];
            scratch.Clear();
            Features(pairs[i].Positive, buckets, scratch);
            positives[i] = [.. scratch];
            positiveKey[i] = keys.TryGetValue(pairs[i].Positive, out var k) ? k : keys[pairs[i].Positive] = keys.Count;
        }
        var usable = Enumerable.Range(0, pairs.Count).Where(i => anchors[i].Length > 0 && positives[i].Length > 0).ToArray();
        var adagrad = new float[buckets];
        var batch = Math.Min(options.BatchSize, usable.Length);
        var trainer = new BatchState(batch, dim);
        for (var epoch = 0; epoch < options.Epochs; epoch++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            random.Shuffle(usable);
            for (var start = 0; start + 2 <= usable.Length; start += batch)
            {
                var n = Math.Min(batch, usable.Length - start);
                if (n < 2) break;
                Step(encoder, trainer, usable.AsSpan(start, n), anchors, positives, positiveKey, adagrad, options);
            }
        }
        return encoder;
    }

    private sealed class BatchState(int batch, int dim)
    {
        public readonly float[] U = new float[batch * dim];      // (batch, dim) unit anchors
        public readonly float[] V = new float[batch * dim];      // (batch, dim) unit positives
        public readonly float[] NormU = new float[batch];
        public readonly float[] NormV = new float[batch];
        public readonly float[] Logits = new float[batch * batch]; // (batch, batch)
        public readonly float[] G = new float[batch * batch];      // (batch, batch) dLoss/dlogit
        public readonly float[] GradU = new float[batch * dim];
        public readonly float[] GradV = new float[batch * dim];
        public readonly float[] Row = new float[dim];
    }

    private static void Step(
        SemanticEncoder encoder, BatchState s, ReadOnlySpan<int> rows, int[][] anchors, int[][] positives, int[] positiveKey,
        float[] adagrad, SemanticEncoderOptions options)
    {
        var dim = encoder.Dimension;
        var n = rows.Length;
        var table = encoder._table;
        // Forward: pooled, normalised vectors (n, dim).
        for (var i = 0; i < n; i++)
        {
            s.NormU[i] = PoolRaw(table, anchors[rows[i]], dim, s.U.AsSpan(i * dim, dim));
            s.NormV[i] = PoolRaw(table, positives[rows[i]], dim, s.V.AsSpan(i * dim, dim));
        }
        var invT = 1f / options.Temperature;
        // Logits (n, n) = U · Vᵀ / τ; same-positive pairs off the diagonal are masked out.
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++)
                s.Logits[i * n + j] = i != j && positiveKey[rows[i]] == positiveKey[rows[j]]
                    ? float.NegativeInfinity
                    : TensorPrimitives.Dot(s.U.AsSpan(i * dim, dim), s.V.AsSpan(j * dim, dim)) * invT;
        // Symmetric InfoNCE: G = (softmax_rows − I + softmax_cols − I) / (2n), times 1/τ for the logit scale.
        Array.Clear(s.G, 0, n * n);
        for (var i = 0; i < n; i++)
        {
            var row = s.Logits.AsSpan(i * n, n);
            var max = TensorPrimitives.Max(row);
            var sum = 0f;
            for (var j = 0; j < n; j++) sum += MathF.Exp(row[j] - max);
            for (var j = 0; j < n; j++) s.G[i * n + j] += MathF.Exp(row[j] - max) / sum;
            s.G[i * n + i] -= 1;
        }
        for (var j = 0; j < n; j++)
        {
            var max = float.NegativeInfinity;
            for (var i = 0; i < n; i++) max = Math.Max(max, s.Logits[i * n + j]);
            var sum = 0f;
            for (var i = 0; i < n; i++) sum += MathF.Exp(s.Logits[i * n + j] - max);
            for (var i = 0; i < n; i++) s.G[i * n + j] += MathF.Exp(s.Logits[i * n + j] - max) / sum;
            s.G[j * n + j] -= 1;
        }
        var scale = invT / (2 * n);
        // dU (n, dim) = G · V; dV (n, dim) = Gᵀ · U.
        Array.Clear(s.GradU, 0, n * dim);
        Array.Clear(s.GradV, 0, n * dim);
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j < n; j++)
            {
                var g = s.G[i * n + j] * scale;
                if (g == 0) continue;
                TensorPrimitives.MultiplyAdd(s.V.AsSpan(j * dim, dim), g, s.GradU.AsSpan(i * dim, dim), s.GradU.AsSpan(i * dim, dim));
                TensorPrimitives.MultiplyAdd(s.U.AsSpan(i * dim, dim), g, s.GradV.AsSpan(j * dim, dim), s.GradV.AsSpan(j * dim, dim));
            }
        }
        for (var i = 0; i < n; i++)
        {
            Backward(table, adagrad, anchors[rows[i]], s.U.AsSpan(i * dim, dim), s.NormU[i], s.GradU.AsSpan(i * dim, dim), s.Row, options.LearningRate);
            Backward(table, adagrad, positives[rows[i]], s.V.AsSpan(i * dim, dim), s.NormV[i], s.GradV.AsSpan(i * dim, dim), s.Row, options.LearningRate);
        }
    }

    /// <summary>Sum of the feature rows, normalised in place; returns the norm before normalising.</summary>
    private static float PoolRaw(float[] table, int[] features, int dim, Span<float> output)
    {
        output.Clear();
        foreach (var f in features) TensorPrimitives.Add(output, table.AsSpan(f * dim, dim), output);
        var norm = MathF.Max(TensorPrimitives.Norm(output), 1e-6f);
        TensorPrimitives.Divide(output, norm, output);
        return norm;
    }

    /// <summary>Through u = x/|x| to x = Σ rows: dx = (du − u(u·du))/|x|, the same for every row; Adagrad per row.</summary>
    private static void Backward(float[] table, float[] adagrad, int[] features, ReadOnlySpan<float> unit, float norm, ReadOnlySpan<float> gradUnit, float[] dx, float learningRate)
    {
        var dim = unit.Length;
        var along = TensorPrimitives.Dot(unit, gradUnit);
        TensorPrimitives.MultiplyAdd(unit, -along, gradUnit, dx);
        TensorPrimitives.Divide(dx, norm, dx);
        var g2 = TensorPrimitives.SumOfSquares(dx) / dim;
        foreach (var f in features)
        {
            adagrad[f] += g2;
            var step = -learningRate / MathF.Sqrt(adagrad[f] + 1e-8f);
            TensorPrimitives.MultiplyAdd(dx, step, table.AsSpan(f * dim, dim), table.AsSpan(f * dim, dim));
        }
    }
}
