namespace Persona.Neural.Modules;

/// <summary>
/// A lookup table (count, dim) initialised N(0, std²). Ids equal to <c>paddingIndex</c> (and negative ids) give zero
/// vectors and no gradient. Gradients are sparse rows, so AdamW updates only the rows a batch touched.
/// </summary>
public sealed class Embedding : Module
{
    private readonly int? _paddingIndex;

    public Embedding(int count, int dim, Rng rng, int? paddingIndex = null, float std = 0.02f)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(dim);
        Count = count;
        Dim = dim;
        _paddingIndex = paddingIndex;
        Weight = RegisterParameter("weight", Tensor.Parameter(count, dim));
        rng.FillNormal(Weight.Data, 0f, std);
        if (paddingIndex is { } pad)
        {
            Weight.Data.Slice(pad * dim, dim).Clear();
        }
    }

    public int Count { get; }

    public int Dim { get; }

    /// <summary>(count, dim)</summary>
    public Tensor Weight { get; }

    /// <summary>ids (idsShape) → (idsShape…, dim); idsShape defaults to (ids.Length).</summary>
    public Tensor Forward(ReadOnlySpan<int> ids, params int[] idsShape)
    {
        if (_paddingIndex is not { } pad || !ids.Contains(pad))
        {
            return Ops.Embedding(Weight, ids, idsShape);
        }

        var mapped = ids.ToArray();
        for (var i = 0; i < mapped.Length; i++)
        {
            if (mapped[i] == pad)
            {
                mapped[i] = -1;
            }
        }

        return Ops.Embedding(Weight, mapped, idsShape);
    }
}
