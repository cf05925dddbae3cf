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

    /// <summary>The probability to apply now: <see cref="P"/> in training mode, 0 in eval mode.</summary>
    internal float ActiveP => Training ? P : 0f;

    /// <summary>This module's mask stream, for operations that fuse the dropout.</summary>
    internal Rng Stream => _rng;

    /// <summary>(…) → (…)</summary>
    public Tensor Forward(Tensor x) => Training && P > 0f ? Ops.Dropout(x, P, _rng) : x;

    /// <summary>residual + dropout(x) in one fused pass (same mask stream as <see cref="Forward"/>). (…) → (…)</summary>
    public Tensor ForwardAdd(Tensor residual, Tensor x) => Training && P > 0f ? Ops.DropoutAdd(residual, x, P, _rng) : Ops.Add(residual, x);
}
