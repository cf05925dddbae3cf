namespace Persona.Core.Models.Propensity;

/// <summary>Small dense solvers for the normal equations of the linear learners (d is tens, not thousands).</summary>
internal static class LinearAlgebra
{
    /// <summary>
    /// Solves A x = b for a symmetric positive-definite A (row-major, (d, d)) by Cholesky; A and b are left
    /// untouched. A tiny jitter is added to the diagonal when a pivot is not positive (collinear features).
    /// </summary>
    public static double[] SolveSpd(ReadOnlySpan<double> a, ReadOnlySpan<double> b, int d)
    {
        var l = new double[d * d]; // (d, d) lower triangle
        for (var jitter = 0.0; ; jitter = jitter == 0 ? 1e-9 : jitter * 100)
        {
            if (TryCholesky(a, l, d, jitter)) break;
            if (jitter > 1) throw new InvalidOperationException("The system matrix is not positive definite.");
        }
        var y = new double[d];
        for (var i = 0; i < d; i++)
        {
            var s = b[i];
            for (var k = 0; k < i; k++) s -= l[i * d + k] * y[k];
            y[i] = s / l[i * d + i];
        }
        var x = new double[d];
        for (var i = d - 1; i >= 0; i--)
        {
            var s = y[i];
            for (var k = i + 1; k < d; k++) s -= l[k * d + i] * x[k];
            x[i] = s / l[i * d + i];
        }
        return x;
    }

    private static bool TryCholesky(ReadOnlySpan<double> a, Span<double> l, int d, double jitter)
    {
        l.Clear();
        for (var i = 0; i < d; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var s = a[i * d + j];
                if (i == j) s += jitter * Math.Max(1, Math.Abs(a[i * d + i]));
                for (var k = 0; k < j; k++) s -= l[i * d + k] * l[j * d + k];
                if (i == j)
                {
                    if (s <= 0 || double.IsNaN(s)) return false;
                    l[i * d + i] = Math.Sqrt(s);
                }
                else
                {
                    l[i * d + j] = s / l[j * d + j];
                }
            }
        }
        return true;
    }
}
