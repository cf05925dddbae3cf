using System.Numerics.Tensors;

namespace Persona.Neural.Optim;

/// <summary>Gradient clipping by the global L2 norm over a set of parameters.</summary>
public static class GradientClipping
{
    /// <summary>The L2 norm of all gradients together (sparse gradients over their touched rows only).</summary>
    public static float GlobalNorm(IEnumerable<Tensor> parameters)
    {
        double sum = 0;
        foreach (var p in parameters)
        {
            foreach (var (o, n) in Segments(p))
            {
                var g = p.GradView.Slice(o, n);
                sum += TensorPrimitives.Dot(g, g);
            }
        }

        return (float)Math.Sqrt(sum);
    }

    /// <summary>Scales all gradients by min(1, maxNorm/norm); returns the norm before clipping.</summary>
    public static float ClipByGlobalNorm(IEnumerable<Tensor> parameters, float maxNorm)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxNorm);
        var list = parameters as IReadOnlyCollection<Tensor> ?? parameters.ToList();
        var norm = GlobalNorm(list);
        if (norm > maxNorm && float.IsFinite(norm))
        {
            var scale = maxNorm / (norm + 1e-6f);
            foreach (var p in list)
            {
                foreach (var (o, n) in Segments(p))
                {
                    var g = p.GradView.Slice(o, n);
                    TensorPrimitives.Multiply(g, scale, g);
                }
            }
        }

        return norm;
    }

    private static IEnumerable<(int Offset, int Length)> Segments(Tensor p)
    {
        if (!p.HasGrad)
        {
            yield break;
        }

        if (!p.HasDenseGrad && p.TouchedRows is { } rows)
        {
            var width = p.RowWidth;
            foreach (var r in rows)
            {
                yield return (r * width, width);
            }

            yield break;
        }

        yield return (0, p.Length);
    }
}
