namespace Persona.Text;

/// <summary>
/// Turns text into a unit vector for semantic search and cold-start similarity: the in-domain encoder trained at
/// start-up, or a pretrained one (MiniLM from its package, a Hugging Face checkpoint, an ONNX model). Immutable once
/// made; any number of threads may encode.
/// </summary>
public interface ITextEncoder
{
    /// <summary>Length of every vector.</summary>
    int Dimension { get; }

    /// <summary>Names the encoder and its weights; stored vectors are reused only under the same version.</summary>
    string Version { get; }

    /// <summary>What kind of encoder this is (<c>in-domain</c>, <c>minilm</c>, <c>checkpoint</c>, <c>onnx</c>), for status and reports.</summary>
    string Kind { get; }

    /// <summary>Unit vector of <paramref name="text"/>; all zeros when it has nothing to encode.</summary>
    float[] Encode(string? text);

    /// <summary>
    /// Encodes many texts at once (batched where the encoder gains from it) into <paramref name="output"/>,
    /// shape (texts.Count, Dimension), row-major.
    /// </summary>
    void EncodeBatch(IReadOnlyList<string?> texts, Span<float> output);
}
