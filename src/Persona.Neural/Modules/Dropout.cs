namespace Persona.Neural.Modules;

/// <summary>Inverted dropout in training mode, identity in eval mode; its own seeded stream.</summary>
public sealed class Dropout : Module
{
    private readonly Rng _rng;

    public Dropout(float p, Rng rng)
    {
        if (p is < 0f or >= 1f)
        {
            throw new ArgumentOutOfRangeException(nameof(p), "Dropout probability must be in [0, 1).");
        }

        P = p;
        _rng = rng.Fork();
    }

    public float P { get; }

    /// <summary>(…) → (…)</summary>
    public Tensor Forward(Tensor x) => Training && P > 0f ? Ops.Dropout(x, P, _rng) : x;
}
