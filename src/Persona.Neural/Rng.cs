using System.Runtime.CompilerServices;

namespace Persona.Neural;

/// <summary>
/// Seeded xoshiro256** generator: the same seed gives the same initialisation, dropout masks and samples on every
/// machine and .NET version (unlike <see cref="Random"/>, whose algorithm is unspecified). Not thread-safe.
/// </summary>
public sealed class Rng
{
    private ulong _s0, _s1, _s2, _s3;
    private float _spare = float.NaN;

    public Rng(ulong seed)
    {
        // SplitMix64 expands the seed so that nearby seeds give unrelated streams.
        _s0 = SplitMix(ref seed);
        _s1 = SplitMix(ref seed);
        _s2 = SplitMix(ref seed);
        _s3 = SplitMix(ref seed);
    }

    /// <summary>A new generator seeded from this one's stream (for giving each module its own dropout stream).</summary>
    public Rng Fork() => new(NextUInt64());

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong NextUInt64()
    {
        var result = ulong.RotateLeft(_s1 * 5, 7) * 9;
        var t = _s1 << 17;
        _s2 ^= _s0;
        _s3 ^= _s1;
        _s1 ^= _s2;
        _s0 ^= _s3;
        _s2 ^= t;
        _s3 = ulong.RotateLeft(_s3, 45);
        return result;
    }

    /// <summary>Uniform in [0, 1) with 24 bits of precision.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 bits of precision.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Uniform integer in [0, maxExclusive), without modulo bias (Lemire's method).</summary>
    public int NextInt(int maxExclusive)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxExclusive);
        var range = (ulong)maxExclusive;
        var m = Math.BigMul(NextUInt64() >> 32, range);
        if ((uint)m < range)
        {
            var threshold = (uint)(-(long)range % (long)range);
            while ((uint)m < threshold)
            {
                m = Math.BigMul(NextUInt64() >> 32, range);
            }
        }

        return (int)(m >> 32);
    }

    /// <summary>Standard normal sample (Box–Muller, the second value is kept for the next call).</summary>
    public float NextGaussian()
    {
        if (!float.IsNaN(_spare))
        {
            var s = _spare;
            _spare = float.NaN;
            return s;
        }

        double u;
        do
        {
            u = NextDouble();
        }
        while (u <= double.Epsilon);
        var r = Math.Sqrt(-2 * Math.Log(u));
        var theta = 2 * Math.PI * NextDouble();
        _spare = (float)(r * Math.Sin(theta));
        return (float)(r * Math.Cos(theta));
    }

    public void FillUniform(Span<float> x, float low, float high)
    {
        var width = high - low;
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = low + (width * NextFloat());
        }
    }

    public void FillNormal(Span<float> x, float mean, float std)
    {
        for (var i = 0; i < x.Length; i++)
        {
            x[i] = mean + (std * NextGaussian());
        }
    }

    /// <summary>
    /// Inverted-dropout multipliers: each element is 0 with probability <paramref name="p"/>, else 1/(1−p). Two
    /// decisions per 64-bit draw with the state kept in registers: masks cost about a nanosecond per element.
    /// </summary>
    public void FillDropoutMask(Span<float> mask, float p)
    {
        var threshold = (uint)Math.Min(uint.MaxValue, p * 4294967296.0);
        var keep = 1f / (1f - p);
        ulong s0 = _s0, s1 = _s1, s2 = _s2, s3 = _s3;
        var i = 0;
        for (; i < mask.Length; i += 2)
        {
            var r = ulong.RotateLeft(s1 * 5, 7) * 9;
            var t = s1 << 17;
            s2 ^= s0;
            s3 ^= s1;
            s1 ^= s2;
            s0 ^= s3;
            s2 ^= t;
            s3 = ulong.RotateLeft(s3, 45);
            mask[i] = (uint)r < threshold ? 0f : keep;
            if (i + 1 < mask.Length)
            {
                mask[i + 1] = (uint)(r >> 32) < threshold ? 0f : keep;
            }
        }

        (_s0, _s1, _s2, _s3) = (s0, s1, s2, s3);
    }

    /// <summary>Fisher–Yates shuffle.</summary>
    public void Shuffle<T>(Span<T> items)
    {
        for (var i = items.Length - 1; i > 0; i--)
        {
            var j = NextInt(i + 1);
            (items[i], items[j]) = (items[j], items[i]);
        }
    }

    private static ulong SplitMix(ref ulong state)
    {
        var z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
