namespace Persona.Neural.Modules;

/// <summary>A stack of <see cref="TransformerEncoderLayer"/>s (<c>layers.i</c>) with a final layer norm (<c>norm</c>) for pre-LN stacks.</summary>
public sealed class TransformerEncoder : Module
{
    public TransformerEncoder(int layers, int dim, int heads, int ffDim, Rng rng, float dropout = 0.1f, bool preNorm = true, Activation activation = Activation.Gelu, float eps = 1e-5f)
    {
        Layers = RegisterModule("layers", new ModuleList<TransformerEncoderLayer>());
        for (var i = 0; i < layers; i++)
        {
            Layers.Add(new TransformerEncoderLayer(dim, heads, ffDim, rng, dropout, preNorm, activation, eps));
        }

        if (preNorm)
        {
            FinalNorm = RegisterModule("norm", new LayerNorm(dim, eps));
        }
    }

    public ModuleList<TransformerEncoderLayer> Layers { get; }

    /// <summary>Final normalisation (pre-LN stacks only), or null.</summary>
    public LayerNorm? FinalNorm { get; }

    /// <summary>x (batch, seq, dim) → (batch, seq, dim).</summary>
    public Tensor Forward(Tensor x, bool causal = false, ReadOnlySpan<bool> keyPadding = default)
    {
        foreach (var layer in Layers)
        {
            x = layer.Forward(x, causal, keyPadding);
        }

        return FinalNorm?.Forward(x) ?? x;
    }
}
