using System.Buffers;
using System.Numerics.Tensors;
using System.Text.Json;
using Persona.Neural.Text;
using Persona.Numerics;

namespace Persona.Neural.Bert;

/// <summary>
/// Inference for a Hugging Face BERT checkpoint directory (<c>config.json</c>, <c>model.safetensors</c>, <c>vocab.txt</c>,
/// optional <c>tokenizer_config.json</c>): post-LN encoder layers, exact GELU, additive −1e9 padding mask, positions from
/// 0 in every row. Dense layers run as one GEMM over all tokens of a chunk of rows; attention runs in parallel over
/// (row, head). Immutable after loading, so one instance can serve concurrent callers.
/// </summary>
public sealed partial class BertEncoder
{
    /// <summary>Weights file name inside a checkpoint directory.</summary>
    public const string WeightsFileName = "model.safetensors";

    // Additive score for padded keys; exp(−1e9 − max) underflows to exactly 0 in float32.
    private const float MaskedScore = -1e9f;

    // Rows are processed in chunks of about this many tokens, which bounds the scratch memory to
    // tokens·(5·hidden + intermediate) floats (≈ 75 MB for hidden 512 / intermediate 2048) whatever the batch size,
    // while keeping the dense GEMMs tall enough to run near peak.
    private const int TokensPerChunk = 4096;

    private readonly BertWeights _weights;

    internal BertEncoder(BertConfig config, WordPieceTokenizer tokenizer, BertWeights weights, int maxLength)
    {
        Config = config;
        Tokenizer = tokenizer;
        _weights = weights;
        MaxLength = maxLength;
    }

    /// <summary>The model's sizes.</summary>
    public BertConfig Config { get; }

    /// <summary>The checkpoint's tokenizer.</summary>
    public WordPieceTokenizer Tokenizer { get; }

    /// <summary>True when the checkpoint has a pooler (so <see cref="BertOutput.PoolerOutput"/> is set).</summary>
    public bool HasPooler => _weights.Pooler is not null;

    /// <summary>Hidden width, the length of every output vector.</summary>
    public int HiddenSize => Config.HiddenSize;

    /// <summary>
    /// Default sequence limit, special tokens included: the smallest of <c>max_position_embeddings</c>, the tokenizer's
    /// <c>model_max_length</c> and a sentence-transformers <c>max_seq_length</c>.
    /// </summary>
    public int MaxLength { get; }

    /// <summary>Loads a checkpoint directory.</summary>
    /// <exception cref="FileNotFoundException">A required file is missing.</exception>
    /// <exception cref="InvalidDataException">A file is malformed or disagrees with <c>config.json</c>.</exception>
    public static BertEncoder Load(string directory)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        string configPath = Path.Combine(directory, "config.json");
        if (!File.Exists(configPath))
        {
            throw new FileNotFoundException($"No config.json in '{directory}'.", configPath);
        }

        string weightsPath = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(weightsPath))
        {
            throw new FileNotFoundException(
                $"No {WeightsFileName} in '{directory}' (only safetensors checkpoints load; convert pytorch_model.bin first).",
                weightsPath);
        }

        var config = BertConfig.FromFile(configPath);
        var tokenizer = WordPieceTokenizer.FromDirectory(directory);
        if (tokenizer.VocabularySize > config.VocabSize)
        {
            throw new InvalidDataException(
                $"'{directory}': vocab.txt has {tokenizer.VocabularySize} tokens but the model only {config.VocabSize} embeddings.");
        }

        var weights = BertWeights.Load(weightsPath, config);
        int maxLength = Math.Min(config.MaxPositionEmbeddings, tokenizer.Options.ModelMaxLength ?? int.MaxValue);
        maxLength = Math.Min(maxLength, ReadSentenceTransformersLimit(directory) ?? int.MaxValue);
        return new BertEncoder(config, tokenizer, weights, maxLength);
    }

    /// <summary>
    /// Tokenises <paramref name="texts"/> (with <paramref name="pairs"/> as second segments when given), pads the batch
    /// to its longest row and runs the model.
    /// </summary>
    /// <param name="texts">One string per row.</param>
    /// <param name="pairs">Optional second segment per row (token type 1).</param>
    /// <param name="maxLength">Sequence limit including special tokens; default <see cref="MaxLength"/>.</param>
    public BertOutput Encode(IReadOnlyList<string> texts, IReadOnlyList<string>? pairs = null, int? maxLength = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        int limit = maxLength ?? MaxLength;
        if (limit > Config.MaxPositionEmbeddings)
        {
            throw new ArgumentOutOfRangeException(
                nameof(maxLength), limit, $"The model has only {Config.MaxPositionEmbeddings} positions.");
        }

        return Forward(Tokenizer.EncodeBatch(texts, pairs, limit));
    }

    /// <summary>Runs the model on an already tokenised, padded batch.</summary>
    public BertOutput Forward(TokenizedBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        Validate(batch);
        int rows = batch.BatchSize;
        int seq = batch.SequenceLength;
        int h = Config.HiddenSize;
        var hidden = new float[rows * seq * h];
        var pooler = _weights.Pooler is null ? null : new float[rows * h];
        var sentence = new float[rows * h];

        if (rows > 0 && seq > 0)
        {
            int chunkRows = Math.Max(1, TokensPerChunk / seq);
            for (int first = 0; first < rows; first += chunkRows)
            {
                RunChunk(batch, first, Math.Min(chunkRows, rows - first), hidden);
            }

            if (_weights.Pooler is { } dense)
            {
                // (batch, hidden) = [CLS] states (row stride seq·hidden) · Wᵀ + b, then tanh.
                Gemm.Sgemm(false, true, rows, h, h, 1f, hidden, seq * h, dense.Weight, h, 0f, pooler, h);
                for (int r = 0; r < rows; r++)
                {
                    var row = pooler.AsSpan(r * h, h);
                    TensorPrimitives.Add(row, dense.Bias, row);
                    TensorPrimitives.Tanh(row, row);
                }
            }

            MeanPool(batch, hidden, sentence, h);
        }

        return new BertOutput
        {
            BatchSize = rows,
            SequenceLength = seq,
            HiddenSize = h,
            LastHiddenState = hidden,
            PoolerOutput = pooler,
            SentenceEmbedding = sentence,
            Inputs = batch,
        };
    }

    private static int? ReadSentenceTransformersLimit(string directory)
    {
        string path = Path.Combine(directory, "sentence_bert_config.json");
        if (!File.Exists(path))
        {
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllBytes(path));
        return document.RootElement.ValueKind == JsonValueKind.Object &&
               document.RootElement.TryGetProperty("max_seq_length", out var max) && max.TryGetInt32(out int limit) && limit >= 2
            ? limit
            : null;
    }

    // Mean over positions with mask 1, then L2 normalisation (a zero vector stays zero).
    private static void MeanPool(TokenizedBatch batch, float[] hidden, float[] sentence, int h)
    {
        int seq = batch.SequenceLength;
        for (int r = 0; r < batch.BatchSize; r++)
        {
            var sum = sentence.AsSpan(r * h, h);
            var mask = batch.RowMask(r);
            int count = 0;
            for (int t = 0; t < seq; t++)
            {
                if (mask[t] != 0)
                {
                    TensorPrimitives.Add(sum, hidden.AsSpan(((r * seq) + t) * h, h), sum);
                    count++;
                }
            }

            if (count == 0)
            {
                continue;
            }

            TensorPrimitives.Multiply(sum, 1f / count, sum);
            float norm = TensorPrimitives.Norm(sum);
            if (norm > 0f)
            {
                TensorPrimitives.Multiply(sum, 1f / Math.Max(norm, 1e-12f), sum);
            }
        }
    }

    /// <summary>Throws when the batch's arrays or ids do not fit this model (shared with the trainable LoRA forward).</summary>
    internal void Validate(TokenizedBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        int cells = batch.BatchSize * batch.SequenceLength;
        if (batch.InputIds.Length != cells || batch.TokenTypeIds.Length != cells || batch.AttentionMask.Length != cells)
        {
            throw new ArgumentException("Batch arrays do not match BatchSize × SequenceLength.", nameof(batch));
        }

        if (batch.SequenceLength > Config.MaxPositionEmbeddings)
        {
            throw new ArgumentException(
                $"Sequence length {batch.SequenceLength} exceeds the model's {Config.MaxPositionEmbeddings} positions.", nameof(batch));
        }

        for (int i = 0; i < cells; i++)
        {
            if ((uint)batch.InputIds[i] >= (uint)Config.VocabSize)
            {
                throw new ArgumentException($"Token id {batch.InputIds[i]} is outside the vocabulary.", nameof(batch));
            }

            if ((uint)batch.TokenTypeIds[i] >= (uint)Config.TypeVocabSize)
            {
                throw new ArgumentException($"Token type {batch.TokenTypeIds[i]} is outside type_vocab_size.", nameof(batch));
            }
        }
    }

    // Runs embeddings and every layer for rows [first, first + count), writing their final states into hidden.
    private void RunChunk(TokenizedBatch batch, int first, int count, float[] hidden)
    {
        int seq = batch.SequenceLength;
        int h = Config.HiddenSize;
        int inner = Config.IntermediateSize;
        int n = count * seq;
        int offset = first * seq * h;
        var pool = ArrayPool<float>.Shared;
        var qkv = pool.Rent(n * 3 * h);
        var context = pool.Rent(n * h);
        var scratch = pool.Rent(n * h);
        var intermediate = pool.Rent(n * inner);
        var additiveMask = pool.Rent(n);
        try
        {
            // The residual stream lives in the output array itself: x is (n, hidden).
            var x = hidden.AsMemory(offset, n * h);
            Embed(batch, first, count, x.Span);
            for (int t = 0; t < n; t++)
            {
                additiveMask[t] = batch.AttentionMask[(first * seq) + t] != 0 ? 0f : MaskedScore;
            }

            foreach (var layer in _weights.Layers)
            {
                Dense(x.Span, n, layer.QueryKeyValue, qkv);                  // (n, 3·hidden)
                Attention(qkv, additiveMask, count, seq, context);          // (n, hidden)
                Dense(context, n, layer.AttentionOutput, scratch);          // (n, hidden)
                AddAndNormalize(x.Span, scratch, n, layer.AttentionNorm);   // x = LN(x + attention)
                Dense(x.Span, n, layer.Intermediate, intermediate);         // (n, intermediate)
                Activate(intermediate.AsMemory(0, n * inner), inner);
                Dense(intermediate, n, layer.Output, scratch);              // (n, hidden)
                AddAndNormalize(x.Span, scratch, n, layer.OutputNorm);      // x = LN(x + feed-forward)
            }
        }
        finally
        {
            pool.Return(qkv);
            pool.Return(context);
            pool.Return(scratch);
            pool.Return(intermediate);
            pool.Return(additiveMask);
        }
    }

    // x[t] = LN(word[id] + position[t mod seq] + type[tt]), positions restarting at 0 in every row.
    private void Embed(TokenizedBatch batch, int first, int count, Span<float> x)
    {
        int seq = batch.SequenceLength;
        int h = Config.HiddenSize;
        var norm = _weights.EmbeddingNorm;
        for (int r = 0; r < count; r++)
        {
            var ids = batch.RowIds(first + r);
            var types = batch.RowTypes(first + r);
            for (int t = 0; t < seq; t++)
            {
                var row = x.Slice(((r * seq) + t) * h, h);
                TensorPrimitives.Add(
                    _weights.WordEmbeddings.AsSpan(ids[t] * h, h), _weights.PositionEmbeddings.AsSpan(t * h, h), row);
                TensorPrimitives.Add(row, _weights.TokenTypeEmbeddings.AsSpan(types[t] * h, h), row);
                Normalize(row, norm);
            }
        }
    }

    // output (n, out) = input (n, in) · Wᵀ + b, with W stored (out, in).
    private static void Dense(ReadOnlySpan<float> input, int n, DenseWeights dense, Span<float> output)
    {
        Gemm.Sgemm(false, true, n, dense.Out, dense.In, 1f, input, dense.In, dense.Weight, dense.In, 0f, output, dense.Out);
        for (int t = 0; t < n; t++)
        {
            var row = output.Slice(t * dense.Out, dense.Out);
            TensorPrimitives.Add(row, dense.Bias, row);
        }
    }

    // qkv (rows·seq, 3·hidden) → context (rows·seq, hidden). Head h owns columns h·d .. h·d+d−1 of Q, K, V and context.
    private void Attention(float[] qkv, float[] additiveMask, int rows, int seq, float[] context)
    {
        int h = Config.HiddenSize;
        int d = Config.HeadSize;
        int heads = Config.NumAttentionHeads;
        float scale = 1f / MathF.Sqrt(d);
        Parallel.For(
            0,
            rows * heads,
            () => ArrayPool<float>.Shared.Rent(seq * seq),
            (task, _, scores) =>
            {
                int r = task / heads;
                int head = task % heads;
                int baseIndex = r * seq * 3 * h;

                // scores (seq, seq) = Q_h K_hᵀ / √d
                Gemm.Sgemm(
                    false, true, seq, seq, d, scale,
                    qkv.AsSpan(baseIndex + (head * d)), 3 * h,
                    qkv.AsSpan(baseIndex + h + (head * d)), 3 * h,
                    0f, scores, seq);

                var mask = additiveMask.AsSpan(r * seq, seq);
                for (int i = 0; i < seq; i++)
                {
                    var row = scores.AsSpan(i * seq, seq);
                    TensorPrimitives.Add(row, mask, row);
                    float max = TensorPrimitives.Max(row);
                    TensorPrimitives.Subtract(row, max, row);
                    TensorPrimitives.Exp(row, row);
                    TensorPrimitives.Multiply(row, 1f / TensorPrimitives.Sum(row), row);
                }

                // context_h (seq, d) = P (seq, seq) · V_h (seq, d)
                Gemm.Sgemm(
                    false, false, seq, d, seq, 1f,
                    scores, seq,
                    qkv.AsSpan(baseIndex + (2 * h) + (head * d)), 3 * h,
                    0f, context.AsSpan((r * seq * h) + (head * d)), h);
                return scores;
            },
            scores => ArrayPool<float>.Shared.Return(scores));
    }

    // x (n, hidden) = LN(x + residual) row by row.
    private void AddAndNormalize(Span<float> x, ReadOnlySpan<float> residual, int n, NormWeights norm)
    {
        int h = Config.HiddenSize;
        for (int t = 0; t < n; t++)
        {
            var row = x.Slice(t * h, h);
            TensorPrimitives.Add(row, residual.Slice(t * h, h), row);
            Normalize(row, norm);
        }
    }

    // (v − mean) / √(biased variance + eps) · γ + β, in place.
    private void Normalize(Span<float> row, NormWeights norm)
    {
        float mean = TensorPrimitives.Sum(row) / row.Length;
        TensorPrimitives.Subtract(row, mean, row);
        double variance = TensorPrimitives.SumOfSquares(row) / (double)row.Length;
        float inverse = (float)(1.0 / Math.Sqrt(variance + Config.LayerNormEps));
        TensorPrimitives.Multiply(row, inverse, row);
        TensorPrimitives.FusedMultiplyAdd(row, norm.Gamma, norm.Beta, row);
    }

    // The feed-forward activation over (n, intermediate), spread over the cores in blocks of rows.
    private void Activate(Memory<float> values, int width)
    {
        const int RowsPerBlock = 32;
        int n = values.Length / width;
        int blocks = (n + RowsPerBlock - 1) / RowsPerBlock;
        string act = Config.HiddenAct;
        Parallel.For(0, blocks, block =>
        {
            int start = block * RowsPerBlock * width;
            var span = values.Span.Slice(start, Math.Min(RowsPerBlock * width, values.Length - start));
            switch (act)
            {
                case "gelu":
                    SpecialFunctions.Gelu(span);
                    break;
                case "gelu_new" or "gelu_pytorch_tanh":
                    TanhGelu(span);
                    break;
                case "relu":
                    TensorPrimitives.Max(span, 0f, span);
                    break;
                default:
                    // silu / swish: v·σ(v)
                    var copy = ArrayPool<float>.Shared.Rent(span.Length);
                    var sigmoid = copy.AsSpan(0, span.Length);
                    TensorPrimitives.Sigmoid(span, sigmoid);
                    TensorPrimitives.Multiply(span, sigmoid, span);
                    ArrayPool<float>.Shared.Return(copy);
                    break;
            }
        });
    }

    // ½v(1 + tanh(√(2/π)(v + 0.044715v³))), the approximation some checkpoints were trained with.
    private static void TanhGelu(Span<float> values)
    {
        const double Scale = 0.7978845608028654;
        for (int i = 0; i < values.Length; i++)
        {
            double v = values[i];
            values[i] = (float)(0.5 * v * (1 + Math.Tanh(Scale * (v + (0.044715 * v * v * v)))));
        }
    }
}
