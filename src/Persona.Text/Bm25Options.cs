namespace Persona.Text;

/// <summary>BM25 parameters and per-field weights of a <see cref="Bm25Index"/>.</summary>
public sealed class Bm25Options
{
    public const double DefaultK1 = 1.2;
    public const double DefaultB = 0.75;

    /// <summary>Term-frequency saturation: higher lets repeated terms count longer.</summary>
    public double K1 { get; init; } = DefaultK1;

    /// <summary>Length normalisation, 0 (none) .. 1 (full).</summary>
    public double B { get; init; } = DefaultB;

    /// <summary>Weight of each field; the index has as many fields as weights.</summary>
    public IReadOnlyList<double> FieldWeights { get; init; } = [1.0];

    public void Validate()
    {
        if (!double.IsFinite(K1) || K1 < 0) throw new ArgumentOutOfRangeException(nameof(K1), K1, "K1 must be a finite number ≥ 0.");
        if (!double.IsFinite(B) || B is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(B), B, "B must be in [0, 1].");
        if (FieldWeights.Count is 0 or > 255 || FieldWeights.Any(w => !double.IsFinite(w) || w < 0))
            throw new ArgumentOutOfRangeException(nameof(FieldWeights), "Between 1 and 255 fields; weights finite and ≥ 0.");
    }
}

/// <summary>A document id with its score.</summary>
public readonly record struct ScoredDocument(string Id, double Score);
