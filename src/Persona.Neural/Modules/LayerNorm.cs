namespace Persona.Neural.Modules;

/// <summary>Layer normalisation over the last axis with a learned scale (ones) and shift (zeros).</summary>
public sealed class LayerNorm : Module
{
    public LayerNorm(int dim, float eps = 1e-5f)
    {
        Eps = eps;
        Weight = RegisterParameter("weight", Tensor.Parameter(dim));
        Weight.Data.Fill(1f);
        Bias = RegisterParameter("bias", Tensor.Parameter(dim));
    }

    public float Eps { get; }

    /// <summary>(dim)</summary>
    public Tensor Weight { get; }

    /// <summary>(dim)</summary>
    public Tensor Bias { get; }

    /// <summary>(…, dim) → (…, dim)</summary>
    public Tensor Forward(Tensor x) => Ops.LayerNorm(x, Weight, Bias, Eps);
}
