using Persona.Neural;

namespace Persona.Neural.Tests;

/// <summary>
/// Compares reverse-mode gradients with central finite differences of L = Σ y ⊙ R (R random, fixed), where the
/// projection is summed in float64 so that only the float32 forward itself contributes round-off, and the difference
/// quotient is Richardson-extrapolated so that curvature does not masquerade as a wrong gradient.
/// </summary>
internal static class GradCheck
{
    public static void Check(Func<Tensor> forward, IReadOnlyList<Tensor> wrt, int seed, int probesPerTensor = 20, float step = 1e-2f, double rtol = 1e-2, double atol = 3e-3)
    {
        var rng = new Random(seed);
        var y0 = forward();
        var r = new float[y0.Length];
        for (var i = 0; i < r.Length; i++)
        {
            r[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        foreach (var t in wrt)
        {
            t.ZeroGrad();
        }

        float[][] analytic;
        using (var tape = new Tape())
        {
            var y = forward();
            var loss = Ops.Sum(Ops.Mul(y, Tensor.Wrap(r, [.. y.Shape])));
            tape.Backward(loss);
            analytic = wrt.Select(t => t.HasGrad ? t.Grad.ToArray() : new float[t.Length]).ToArray();
        }

        for (var ti = 0; ti < wrt.Count; ti++)
        {
            var t = wrt[ti];
            var indices = Enumerable.Range(0, t.Length).ToArray();
            if (indices.Length > probesPerTensor)
            {
                rng.Shuffle(indices);
                indices = indices[..probesPerTensor];
            }

            foreach (var i in indices)
            {
                var original = t.Data[i];
                double Central(float h)
                {
                    t.Data[i] = original + h;
                    var plus = Project(forward(), r);
                    t.Data[i] = original - h;
                    var minus = Project(forward(), r);
                    t.Data[i] = original;
                    return (plus - minus) / (2.0 * h);
                }

                // Richardson extrapolation of two central differences: O(h⁴) truncation error.
                var numeric = ((4 * Central(step / 2)) - Central(step)) / 3;
                var a = analytic[ti][i];
                var tol = atol + (rtol * Math.Max(Math.Abs(a), Math.Abs(numeric)));
                if (!(Math.Abs(a - numeric) <= tol))
                {
                    throw new Xunit.Sdk.XunitException(
                        $"Gradient mismatch in input {ti} {t.Name} shape ({string.Join(",", t.Shape)}) at {i}: analytic {a}, numeric {numeric}");
                }
            }
        }
    }

    public static Tensor Variable(Random rng, params int[] shape) => Variable(rng, -1f, 1f, shape);

    public static Tensor Variable(Random rng, float low, float high, params int[] shape)
    {
        var data = new float[shape.Aggregate(1, (a, b) => a * b)];
        for (var i = 0; i < data.Length; i++)
        {
            data[i] = low + ((high - low) * (float)rng.NextDouble());
        }

        return Tensor.Variable(data, shape);
    }

    private static double Project(Tensor y, float[] r)
    {
        double sum = 0;
        var d = y.Data;
        for (var i = 0; i < r.Length; i++)
        {
            sum += (double)d[i] * r[i];
        }

        return sum;
    }
}
