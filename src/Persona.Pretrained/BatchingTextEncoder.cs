using Persona.Neural.Text;
using Persona.Text;

namespace Persona.Pretrained;

/// <summary>
/// What every pretrained encoder shares: WordPiece tokenisation, batching and the empty-text rule. Batches are formed
/// from texts sorted by token count, so rows of a batch have similar lengths and little padding is computed; vectors
/// are written back in the caller's order.
/// </summary>
public abstract class BatchingTextEncoder : ITextEncoder
{
    private readonly int _maxTokens;
    private readonly int _batchSize;

    private protected BatchingTextEncoder(WordPieceTokenizer tokenizer, int dimension, int maxTokens, int batchSize)
    {
        Tokenizer = tokenizer;
        Dimension = dimension;
        _maxTokens = maxTokens;
        _batchSize = batchSize;
    }

    public int Dimension { get; }

    public abstract string Version { get; }

    public abstract string Kind { get; }

    /// <summary>The tokenizer the model was trained with.</summary>
    public WordPieceTokenizer Tokenizer { get; }

    public float[] Encode(string? text)
    {
        var vector = new float[Dimension];
        EncodeBatch([text], vector);
        return vector;
    }

    public void EncodeBatch(IReadOnlyList<string?> texts, Span<float> output)
    {
        ArgumentNullException.ThrowIfNull(texts);
        if (output.Length != texts.Count * Dimension)
        {
            throw new ArgumentException(
                $"output has {output.Length} floats; {texts.Count} texts need {texts.Count * Dimension}.", nameof(output));
        }

        output.Clear();
        var rows = new List<(int Index, TokenizedText Tokens)>(texts.Count);
        for (int i = 0; i < texts.Count; i++)
        {
            // Blank text has nothing to encode: its vector stays zero rather than being [CLS] [SEP]'s.
            if (!string.IsNullOrWhiteSpace(texts[i]))
            {
                rows.Add((i, Tokenizer.Encode(texts[i]!, maxLength: _maxTokens)));
            }
        }

        rows.Sort((a, b) => a.Tokens.Length.CompareTo(b.Tokens.Length));
        var pooled = new float[Math.Min(_batchSize, Math.Max(rows.Count, 1)) * Dimension];
        for (int first = 0; first < rows.Count; first += _batchSize)
        {
            int count = Math.Min(_batchSize, rows.Count - first);
            var batch = Pad(rows, first, count);
            var vectors = pooled.AsSpan(0, count * Dimension);
            RunBatch(batch, vectors);
            for (int r = 0; r < count; r++)
            {
                vectors.Slice(r * Dimension, Dimension).CopyTo(output.Slice(rows[first + r].Index * Dimension, Dimension));
            }
        }
    }

    /// <summary>Runs the model on a padded batch and writes unit vectors, shape (batch, Dimension).</summary>
    private protected abstract void RunBatch(TokenizedBatch batch, Span<float> output);

    // Right-pads rows [first, first + count) to the longest of them: [PAD] ids, type 0, mask 0.
    private TokenizedBatch Pad(List<(int Index, TokenizedText Tokens)> rows, int first, int count)
    {
        int seq = 0;
        for (int r = 0; r < count; r++)
        {
            seq = Math.Max(seq, rows[first + r].Tokens.Length);
        }

        var ids = new int[count * seq];
        var types = new int[count * seq];
        var mask = new int[count * seq];
        var lengths = new int[count];
        var tokens = new string[count][];
        var truncated = new bool[count];
        ids.AsSpan().Fill(Tokenizer.PaddingId);
        for (int r = 0; r < count; r++)
        {
            var row = rows[first + r].Tokens;
            row.InputIds.CopyTo(ids, r * seq);
            row.TokenTypeIds.CopyTo(types, r * seq);
            row.AttentionMask.CopyTo(mask, r * seq);
            lengths[r] = row.Length;
            tokens[r] = row.Tokens;
            truncated[r] = row.Truncated;
        }

        return new TokenizedBatch(count, seq, ids, types, mask, lengths, tokens, truncated);
    }
}
