namespace Persona.Neural.Modules;

/// <summary>Learned absolute positions: adds row t of a (maxLength, dim) table to position t of each sequence.</summary>
public sealed class PositionalEmbedding : Module
{
    public PositionalEmbedding(int maxLength, int dim, Rng rng, float std = 0.02f)
    {
        MaxLength = maxLength;
        Weight = RegisterParameter("weight", Tensor.Parameter(maxLength, dim));
        rng.FillNormal(Weight.Data, 0f, std);
    }

    public int MaxLength { get; }

    /// <summary>(maxLength, dim)</summary>
    public Tensor Weight { get; }

    /// <summary>x (batch, seq, dim) → x + positions (seq, dim), broadcast over the batch.</summary>
    public Tensor Forward(Tensor x)
    {
        var seq = x.Dim(-2);
        if (seq > MaxLength)
        {
            throw new ArgumentException($"Sequence of {seq} exceeds the {MaxLength} learned positions.");
        }

        return x + Ops.Slice(Weight, 0, 0, seq);
    }
}
