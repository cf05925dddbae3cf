namespace Persona.Neural.Modules;

/// <summary>Non-linearity used inside feed-forward blocks.</summary>
public enum Activation
{
    Gelu,
    Relu,
}

/// <summary>Position-wise feed-forward block: fc2(dropout(act(fc1(x)))).</summary>
public sealed class FeedForward : Module
{
    public FeedForward(int dim, int hidden, Rng rng, float dropout = 0f, Activation activation = Activation.Gelu)
    {
        Fc1 = RegisterModule("fc1", new Linear(dim, hidden, rng));
        Fc2 = RegisterModule("fc2", new Linear(hidden, dim, rng));
        Drop = RegisterModule("dropout", new Dropout(dropout, rng));
        ActivationKind = activation;
    }

    public Linear Fc1 { get; }

    public Linear Fc2 { get; }

    public Dropout Drop { get; }

    public Activation ActivationKind { get; }

    /// <summary>(…, dim) → (…, dim)</summary>
    public Tensor Forward(Tensor x)
    {
        if (ActivationKind == Activation.Gelu)
        {
            var g = Ops.LinearGelu(x, Fc1.Weight, Fc1.Bias, Drop.ActiveP, Drop.Stream); // (…, hidden), bias+GELU+dropout fused
            return Fc2.Forward(g);                                                     // (…, dim)
        }

        return Fc2.Forward(Drop.Forward(Ops.Relu(Fc1.Forward(x))));
    }
}
