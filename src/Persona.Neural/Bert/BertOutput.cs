using Persona.Neural.Text;

namespace Persona.Neural.Bert;

/// <summary>What <see cref="BertEncoder"/> returns for a batch; arrays are flat and row-major.</summary>
public sealed class BertOutput
{
    public required int BatchSize { get; init; }

    /// <summary>Padded sequence length (the longest row).</summary>
    public required int SequenceLength { get; init; }

    public required int HiddenSize { get; init; }

    /// <summary>(batch, seq, hidden). Padded positions are computed too (they attend to the real tokens).</summary>
    public required float[] LastHiddenState { get; init; }

    /// <summary>(batch, hidden): tanh(Dense(hidden state of [CLS])); null when the checkpoint has no pooler.</summary>
    public required float[]? PoolerOutput { get; init; }

    /// <summary>(batch, hidden): mean of the hidden states where the mask is 1, L2-normalised.</summary>
    public required float[] SentenceEmbedding { get; init; }

    /// <summary>The token ids, types and mask the model ran on.</summary>
    public required TokenizedBatch Inputs { get; init; }

    /// <summary>Shape of <see cref="LastHiddenState"/>.</summary>
    public int[] LastHiddenStateShape => [BatchSize, SequenceLength, HiddenSize];

    /// <summary>Hidden state of one token: (hidden).</summary>
    public ReadOnlySpan<float> HiddenState(int row, int position) =>
        LastHiddenState.AsSpan(((row * SequenceLength) + position) * HiddenSize, HiddenSize);

    /// <summary>Pooler output of one row: (hidden).</summary>
    public ReadOnlySpan<float> Pooler(int row) =>
        PoolerOutput is null
            ? throw new InvalidOperationException("This checkpoint has no pooler.")
            : PoolerOutput.AsSpan(row * HiddenSize, HiddenSize);

    /// <summary>Sentence vector of one row: (hidden), unit length.</summary>
    public ReadOnlySpan<float> Sentence(int row) => SentenceEmbedding.AsSpan(row * HiddenSize, HiddenSize);
}
