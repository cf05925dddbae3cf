namespace Persona.Core.Models.Propensity;

/// <summary>Per-column mean and standard deviation of a row-major (n, d) matrix; constant columns get scale 1.</summary>
public sealed record Standardizer(double[] Mean, double[] Scale)
{
    public static Standardizer Fit(ReadOnlySpan<double> x, int n, int d)
    {
        var mean = new double[d];
        var scale = new double[d];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < d; j++) mean[j] += x[i * d + j];
        for (var j = 0; j < d; j++) mean[j] /= Math.Max(1, n);
        for (var i = 0; i < n; i++)
            for (var j = 0; j < d; j++)
            {
                var c = x[i * d + j] - mean[j];
                scale[j] += c * c;
            }
        for (var j = 0; j < d; j++)
        {
            var sd = Math.Sqrt(scale[j] / Math.Max(1, n));
            scale[j] = sd > 1e-12 ? sd : 1;
        }
        return new Standardizer(mean, scale);
    }

    /// <summary>A standardised copy of <paramref name="x"/>, (n, d).</summary>
    public double[] Transform(ReadOnlySpan<double> x, int n)
    {
        var d = Mean.Length;
        var z = new double[n * d];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < d; j++) z[i * d + j] = (x[i * d + j] - Mean[j]) / Scale[j];
        return z;
    }

    public void TransformRow(ReadOnlySpan<double> row, Span<double> z)
    {
        for (var j = 0; j < Mean.Length; j++) z[j] = (row[j] - Mean[j]) / Scale[j];
    }
}
