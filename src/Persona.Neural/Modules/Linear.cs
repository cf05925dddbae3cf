namespace Persona.Neural.Modules;

/// <summary>y = x·Wᵀ + b. Weight (out, in) as in PyTorch; initialised U(−1/√in, 1/√in).</summary>
public sealed class Linear : Module
{
    public Linear(int inFeatures, int outFeatures, Rng rng, bool bias = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(inFeatures);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(outFeatures);
        InFeatures = inFeatures;
        OutFeatures = outFeatures;
        var bound = 1f / MathF.Sqrt(inFeatures);
        Weight = RegisterParameter("weight", Tensor.Parameter(outFeatures, inFeatures));
        rng.FillUniform(Weight.Data, -bound, bound);
        if (bias)
        {
            Bias = RegisterParameter("bias", Tensor.Parameter(outFeatures));
            rng.FillUniform(Bias.Data, -bound, bound);
        }
    }

    public int InFeatures { get; }

    public int OutFeatures { get; }

    /// <summary>(out, in)</summary>
    public Tensor Weight { get; }

    /// <summary>(out), or null.</summary>
    public Tensor? Bias { get; }

    /// <summary>(…, in) → (…, out)</summary>
    public Tensor Forward(Tensor x) => Ops.Linear(x, Weight, Bias);
}
