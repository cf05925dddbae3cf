using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

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
    /// Inverted-dropout multipliers: each element is 0 with probability <paramref name="p"/>, else 1/(1−p). One draw
    /// from the stream keys a counter-based hash of the element index, so the mask is a pure function of (key, index):
    /// vectorised, and the same bits whether it is filled serially or in parallel blocks (see the array overload).
    /// </summary>
    public void FillDropoutMask(Span<float> mask, float p)
    {
        var key = NextUInt64();
        MaskBlock(mask, 0, key, Threshold(p), 1f / (1f - p));
    }

    /// <summary>The first <paramref name="length"/> elements of <paramref name="mask"/>, as the span overload, in parallel blocks.</summary>
    public void FillDropoutMask(float[] mask, int length, float p)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(length, mask.Length);
        var key = NextUInt64();
        var threshold = Threshold(p);
        var keep = 1f / (1f - p);
        Par.Elementwise(length, 4, (s, e) => MaskBlock(mask.AsSpan(s, e - s), s, key, threshold, keep));
    }

    private static uint Threshold(float p) => (uint)Math.Min(uint.MaxValue, p * 4294967296.0);

    // mask[i] = hash(offset + i) < threshold ? 0 : keep, hash = two rounds of a 32-bit avalanche mix keyed by both halves.
    private static void MaskBlock(Span<float> mask, int offset, ulong key, uint threshold, float keep)
    {
        uint k0 = (uint)key, k1 = (uint)(key >> 32);
        var i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var lane = Vector256.Create(0u, 1, 2, 3, 4, 5, 6, 7);
            var t = Vector256.Create(threshold);
            var kept = Vector256.Create(keep);
            var vk0 = Vector256.Create(k0);
            var vk1 = Vector256.Create(k1);
            for (; i <= mask.Length - 8; i += 8)
            {
                var x = Mix((Vector256.Create((uint)(offset + i)) + lane) ^ vk0) ^ vk1;
                var drop = Vector256.LessThan(Mix(x), t).AsSingle();
                Vector256.ConditionalSelect(drop, Vector256<float>.Zero, kept).CopyTo(mask.Slice(i, 8));
            }
        }

        for (; i < mask.Length; i++)
        {
            var x = Mix((uint)(offset + i) ^ k0) ^ k1;
            mask[i] = Mix(x) < threshold ? 0f : keep;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static uint Mix(uint x)
    {
        x ^= x >> 16;
        x *= 0x7FEB352Du;
        x ^= x >> 15;
        x *= 0x846CA68Bu;
        return x ^ (x >> 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<uint> Mix(Vector256<uint> x)
    {
        x ^= Vector256.ShiftRightLogical(x, 16);
        x *= Vector256.Create(0x7FEB352Du);
        x ^= Vector256.ShiftRightLogical(x, 15);
        x *= Vector256.Create(0x846CA68Bu);
        return x ^ Vector256.ShiftRightLogical(x, 16);
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
