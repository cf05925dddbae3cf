namespace Persona.Neural.Modules;

/// <summary>
/// Multi-head self-attention with q, k, v and output projections (<c>q</c>, <c>k</c>, <c>v</c>, <c>o</c>). The three input
/// projections run as one GEMM over their concatenated weights (3·dim, dim); the heads are then attended in place by
/// <see cref="Ops.AttentionPacked"/>, spread over the cores by (batch, head).
/// </summary>
public sealed class MultiHeadAttention : Module
{
    private readonly Rng _rng;

    public MultiHeadAttention(int dim, int heads, Rng rng, float dropout = 0f)
    {
        if (heads <= 0 || dim % heads != 0)
        {
            throw new ArgumentException($"Dimension {dim} does not split into {heads} heads.");
        }

        Dim = dim;
        Heads = heads;
        AttentionDropout = dropout;
        Q = RegisterModule("q", new Linear(dim, dim, rng));
        K = RegisterModule("k", new Linear(dim, dim, rng));
        V = RegisterModule("v", new Linear(dim, dim, rng));
        O = RegisterModule("o", new Linear(dim, dim, rng));
        _rng = rng.Fork();
    }

    public int Dim { get; }

    public int Heads { get; }

    /// <summary>Dropout on the attention probabilities (training only).</summary>
    public float AttentionDropout { get; }

    public Linear Q { get; }

    public Linear K { get; }

    public Linear V { get; }

    public Linear O { get; }

    /// <summary>
    /// x (batch, seq, dim) → (batch, seq, dim). <paramref name="keyPadding"/> (batch·seq, true = padding) hides keys;
    /// <paramref name="causal"/> lets position i see only positions ≤ i.
    /// </summary>
    public Tensor Forward(Tensor x, bool causal = false, ReadOnlySpan<bool> keyPadding = default)
    {
        var w = Ops.Concat([Q.Weight, K.Weight, V.Weight], axis: 0);        // (3·dim, dim)
        var b = Ops.Concat([Q.Bias!, K.Bias!, V.Bias!], axis: 0);          // (3·dim)
        var qkv = Ops.Linear(x, w, b);                                      // (batch, seq, 3·dim)
        var p = Training ? AttentionDropout : 0f;
        var heads = Ops.AttentionPacked(qkv, Heads, causal, keyPadding, p, p > 0f ? _rng : null); // (batch, seq, dim)
        return O.Forward(heads);                                            // (batch, seq, dim)
    }
}
