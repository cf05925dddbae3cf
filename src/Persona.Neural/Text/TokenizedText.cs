namespace Persona.Neural.Text;

/// <summary>One encoded sequence: <c>[CLS] A [SEP]</c> or <c>[CLS] A [SEP] B [SEP]</c>.</summary>
/// <param name="Tokens">Token strings, special tokens included.</param>
/// <param name="InputIds">Vocabulary ids, one per token.</param>
/// <param name="TokenTypeIds">0 for <c>[CLS] A [SEP]</c>, 1 for <c>B [SEP]</c>.</param>
/// <param name="AttentionMask">1 for every token (no padding in a single sequence).</param>
/// <param name="Truncated">True when word pieces were dropped to fit the maximum length.</param>
public sealed record TokenizedText(string[] Tokens, int[] InputIds, int[] TokenTypeIds, int[] AttentionMask, bool Truncated)
{
    /// <summary>Number of tokens.</summary>
    public int Length => InputIds.Length;
}

/// <summary>A right-padded batch; the id arrays are flat, row-major <c>(batch, seq)</c>.</summary>
/// <param name="BatchSize">Rows.</param>
/// <param name="SequenceLength">Columns: the longest row's length.</param>
/// <param name="InputIds">(batch, seq) ids; padding uses the <c>[PAD]</c> id.</param>
/// <param name="TokenTypeIds">(batch, seq) segment ids; padding is 0.</param>
/// <param name="AttentionMask">(batch, seq): 1 for real tokens, 0 for padding.</param>
/// <param name="Lengths">(batch) real tokens per row.</param>
/// <param name="Tokens">Per row, the padded token strings.</param>
/// <param name="Truncated">(batch) whether each row was truncated.</param>
public sealed record TokenizedBatch(
    int BatchSize,
    int SequenceLength,
    int[] InputIds,
    int[] TokenTypeIds,
    int[] AttentionMask,
    int[] Lengths,
    IReadOnlyList<string[]> Tokens,
    bool[] Truncated)
{
    /// <summary>Row <paramref name="row"/> of <see cref="InputIds"/>.</summary>
    public ReadOnlySpan<int> RowIds(int row) => InputIds.AsSpan(row * SequenceLength, SequenceLength);

    /// <summary>Row <paramref name="row"/> of <see cref="AttentionMask"/>.</summary>
    public ReadOnlySpan<int> RowMask(int row) => AttentionMask.AsSpan(row * SequenceLength, SequenceLength);

    /// <summary>Row <paramref name="row"/> of <see cref="TokenTypeIds"/>.</summary>
    public ReadOnlySpan<int> RowTypes(int row) => TokenTypeIds.AsSpan(row * SequenceLength, SequenceLength);
}
