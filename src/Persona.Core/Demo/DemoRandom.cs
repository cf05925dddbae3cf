namespace Persona.Core.Demo;

/// <summary>Distributions the demo generator draws from, all driven by a seeded <see cref="Random"/>.</summary>
internal static class DemoRandom
{
    /// <summary>A per-purpose seed from the user's seed, so each stream is independent and order-free (SplitMix64 finaliser).</summary>
    public static int DeriveSeed(int seed, int stream, int index)
    {
        var z = unchecked(((ulong)(uint)seed << 32) ^ ((ulong)(uint)stream << 20) ^ (ulong)(uint)index);
        z = unchecked(z + 0x9E3779B97F4A7C15UL);
        z = unchecked((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL);
        z = unchecked((z ^ (z >> 27)) * 0x94D049BB133111EBUL);
        z ^= z >> 31;
        return (int)(z & 0x7FFFFFFF);
    }

    public static double Normal(this Random random, double mean = 0, double stdDev = 1)
    {
        // Box–Muller; 1 - NextDouble() keeps the logarithm's argument in (0, 1].
        var u1 = 1.0 - random.NextDouble();
        var u2 = random.NextDouble();
        return mean + stdDev * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    public static double LogNormal(this Random random, double median, double sigma) =>
        median * Math.Exp(random.Normal(0, sigma));

    /// <summary>Gamma(shape, 1) by Marsaglia–Tsang; shapes below 1 use the boosting identity.</summary>
    public static double Gamma(this Random random, double shape)
    {
        if (shape < 1)
            return random.Gamma(shape + 1) * Math.Pow(random.NextDouble(), 1.0 / shape);
        var d = shape - 1.0 / 3.0;
        var c = 1.0 / Math.Sqrt(9.0 * d);
        while (true)
        {
            double x, v;
            do
            {
                x = random.Normal();
                v = 1.0 + c * x;
            }
            while (v <= 0);
            v = v * v * v;
            var u = random.NextDouble();
            if (u < 1 - 0.0331 * x * x * x * x || Math.Log(u) < 0.5 * x * x + d * (1 - v + Math.Log(v)))
                return d * v;
        }
    }

    /// <summary>Poisson by Knuth's product method; the generator only asks for small means.</summary>
    public static int Poisson(this Random random, double mean)
    {
        if (mean <= 0) return 0;
        var limit = Math.Exp(-mean);
        var k = 0;
        var p = random.NextDouble();
        while (p > limit)
        {
            k++;
            p *= random.NextDouble();
        }
        return k;
    }

    /// <summary>Number of failures before the first success, with the given mean.</summary>
    public static int Geometric(this Random random, double mean)
    {
        var p = 1.0 / (1.0 + mean);
        var u = 1.0 - random.NextDouble();
        return (int)Math.Floor(Math.Log(u) / Math.Log(1 - p));
    }

    public static bool Chance(this Random random, double probability) => random.NextDouble() < probability;

    /// <summary>Index drawn with probability proportional to its (non-negative) weight.</summary>
    public static int PickIndex(this Random random, ReadOnlySpan<double> weights)
    {
        var total = 0.0;
        foreach (var w in weights) total += w;
        var target = random.NextDouble() * total;
        for (var i = 0; i < weights.Length; i++)
        {
            target -= weights[i];
            if (target < 0) return i;
        }
        return weights.Length - 1;
    }

    public static T Pick<T>(this Random random, IReadOnlyList<T> values) => values[random.Next(values.Count)];
}
