namespace Persona.Neural.Modules;

/// <summary>
/// One transformer encoder layer. Pre-LN (default): h = x + drop(attn(norm1(x))); y = h + drop(ff(norm2(h))).
/// Post-LN (original Transformer, BERT): h = norm1(x + drop(attn(x))); y = norm2(h + drop(ff(h))).
/// </summary>
public sealed class TransformerEncoderLayer : Module
{
    public TransformerEncoderLayer(int dim, int heads, int ffDim, Rng rng, float dropout = 0.1f, bool preNorm = true, Activation activation = Activation.Gelu, float eps = 1e-5f)
    {
        PreNorm = preNorm;
        Attention = RegisterModule("attn", new MultiHeadAttention(dim, heads, rng, dropout));
        Norm1 = RegisterModule("norm1", new LayerNorm(dim, eps));
        FeedForward = RegisterModule("ff", new FeedForward(dim, ffDim, rng, dropout, activation));
        Norm2 = RegisterModule("norm2", new LayerNorm(dim, eps));
        Drop = RegisterModule("dropout", new Dropout(dropout, rng));
    }

    public bool PreNorm { get; }

    public MultiHeadAttention Attention { get; }

    public LayerNorm Norm1 { get; }

    public FeedForward FeedForward { get; }

    public LayerNorm Norm2 { get; }

    public Dropout Drop { get; }

    /// <summary>x (batch, seq, dim) → (batch, seq, dim).</summary>
    public Tensor Forward(Tensor x, bool causal = false, ReadOnlySpan<bool> keyPadding = default)
    {
        if (PreNorm)
        {
            var h = Drop.ForwardAdd(x, Attention.Forward(Norm1.Forward(x), causal, keyPadding));
            return Drop.ForwardAdd(h, FeedForward.Forward(Norm2.Forward(h)));
        }

        var a = Norm1.Forward(Drop.ForwardAdd(x, Attention.Forward(x, causal, keyPadding)));
        return Norm2.Forward(Drop.ForwardAdd(a, FeedForward.Forward(a)));
    }
}
