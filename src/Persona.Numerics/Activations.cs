using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Persona.Numerics;

/// <summary>
/// Element-wise kernels that <see cref="System.Numerics.Tensors.TensorPrimitives"/> lacks: the exact (erf-based) GELU and
/// its derivative. Φ uses Abramowitz–Stegun 7.1.26 (|error| ≤ 1.5e-7), written as ½·poly(t)·e^(−x²/2) for the lower tail
/// so negative inputs keep their relative precision. Vector512 → Vector256 → scalar.
/// </summary>
public static class Activations
{
    private const float P = 0.3275911f;
    private const float A1 = 0.254829592f;
    private const float A2 = -0.284496736f;
    private const float A3 = 1.421413741f;
    private const float A4 = -1.453152027f;
    private const float A5 = 1.061405429f;
    private const float InvSqrt2 = 0.70710678118f;
    private const float InvSqrt2Pi = 0.39894228040f;

    /// <summary>y = x·Φ(x), the exact GELU.</summary>
    public static void Gelu(ReadOnlySpan<float> x, Span<float> y)
    {
        if (y.Length < x.Length)
        {
            throw new ArgumentException("Destination is shorter than the source.", nameof(y));
        }

        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= x.Length - 16; i += 16)
            {
                var v = Vector512.Create(x.Slice(i, 16));
                (v * Phi512(v, out _)).CopyTo(y.Slice(i, 16));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= x.Length - 8; i += 8)
            {
                var v = Vector256.Create(x.Slice(i, 8));
                (v * Phi256(v, out _)).CopyTo(y.Slice(i, 8));
            }
        }

        for (; i < x.Length; i++)
        {
            y[i] = x[i] * Phi(x[i], out _);
        }
    }

    /// <summary>
    /// y = x·Φ(x) and derivative = Φ(x) + x·φ(x) in one pass (the backward is then one product, with no second
    /// exponential). <paramref name="y"/> may be the same span as <paramref name="x"/>.
    /// </summary>
    public static void GeluWithDerivative(ReadOnlySpan<float> x, Span<float> y, Span<float> derivative) =>
        GeluWithDerivative(x, y, derivative, default);

    /// <summary>
    /// As <see cref="GeluWithDerivative(ReadOnlySpan{float}, Span{float}, Span{float})"/>, with both outputs multiplied
    /// element-wise by <paramref name="scale"/> (a dropout mask) when it is not empty.
    /// </summary>
    public static void GeluWithDerivative(ReadOnlySpan<float> x, Span<float> y, Span<float> derivative, ReadOnlySpan<float> scale)
    {
        if (y.Length < x.Length || derivative.Length < x.Length || (!scale.IsEmpty && scale.Length < x.Length))
        {
            throw new ArgumentException("Destinations or scale are shorter than the source.");
        }

        var scaled = !scale.IsEmpty;
        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= x.Length - 16; i += 16)
            {
                var v = Vector512.Create(x.Slice(i, 16));
                var cdf = Phi512(v, out var pdf);
                var d = Vector512.MultiplyAddEstimate(v, pdf, cdf);
                var g = v * cdf;
                if (scaled)
                {
                    var s = Vector512.Create(scale.Slice(i, 16));
                    d *= s;
                    g *= s;
                }

                d.CopyTo(derivative.Slice(i, 16));
                g.CopyTo(y.Slice(i, 16));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= x.Length - 8; i += 8)
            {
                var v = Vector256.Create(x.Slice(i, 8));
                var cdf = Phi256(v, out var pdf);
                var d = Vector256.MultiplyAddEstimate(v, pdf, cdf);
                var g = v * cdf;
                if (scaled)
                {
                    var s = Vector256.Create(scale.Slice(i, 8));
                    d *= s;
                    g *= s;
                }

                d.CopyTo(derivative.Slice(i, 8));
                g.CopyTo(y.Slice(i, 8));
            }
        }

        for (; i < x.Length; i++)
        {
            var v = x[i];
            var cdf = Phi(v, out var pdf);
            var s = scaled ? scale[i] : 1f;
            derivative[i] = (cdf + (v * pdf)) * s;
            y[i] = v * cdf * s;
        }
    }

    /// <summary>dx += dy·(Φ(x) + x·φ(x)).</summary>
    public static void GeluBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, Span<float> dx)
    {
        if (dy.Length < x.Length || dx.Length < x.Length)
        {
            throw new ArgumentException("Gradient spans are shorter than the input.");
        }

        var i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= x.Length - 16; i += 16)
            {
                var v = Vector512.Create(x.Slice(i, 16));
                var cdf = Phi512(v, out var pdf);
                var d = Vector512.Create(dy.Slice(i, 16)) * Vector512.MultiplyAddEstimate(v, pdf, cdf);
                (Vector512.Create(dx.Slice(i, 16)) + d).CopyTo(dx.Slice(i, 16));
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= x.Length - 8; i += 8)
            {
                var v = Vector256.Create(x.Slice(i, 8));
                var cdf = Phi256(v, out var pdf);
                var d = Vector256.Create(dy.Slice(i, 8)) * Vector256.MultiplyAddEstimate(v, pdf, cdf);
                (Vector256.Create(dx.Slice(i, 8)) + d).CopyTo(dx.Slice(i, 8));
            }
        }

        for (; i < x.Length; i++)
        {
            var cdf = Phi(x[i], out var pdf);
            dx[i] += dy[i] * (cdf + (x[i] * pdf));
        }
    }

    /// <summary>Standard normal CDF Φ(x) and density φ(x), scalar.</summary>
    public static float Phi(float x, out float pdf)
    {
        var e = MathF.Exp(-0.5f * x * x);
        var t = 1f / (1f + (P * MathF.Abs(x) * InvSqrt2));
        var q = 0.5f * t * (A1 + (t * (A2 + (t * (A3 + (t * (A4 + (t * A5)))))))) * e;
        pdf = e * InvSqrt2Pi;
        return x >= 0f ? 1f - q : q;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Phi256(Vector256<float> x, out Vector256<float> pdf)
    {
        var e = Vector256.Exp(Vector256.Create(-0.5f) * x * x);
        var t = Vector256<float>.One / Vector256.MultiplyAddEstimate(Vector256.Abs(x), Vector256.Create(P * InvSqrt2), Vector256<float>.One);
        var poly = Vector256.MultiplyAddEstimate(t, Vector256.Create(A5), Vector256.Create(A4));
        poly = Vector256.MultiplyAddEstimate(t, poly, Vector256.Create(A3));
        poly = Vector256.MultiplyAddEstimate(t, poly, Vector256.Create(A2));
        poly = Vector256.MultiplyAddEstimate(t, poly, Vector256.Create(A1));
        var q = Vector256.Create(0.5f) * t * poly * e;
        pdf = e * Vector256.Create(InvSqrt2Pi);
        return Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(x, Vector256<float>.Zero), Vector256<float>.One - q, q);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Phi512(Vector512<float> x, out Vector512<float> pdf)
    {
        var e = Vector512.Exp(Vector512.Create(-0.5f) * x * x);
        var t = Vector512<float>.One / Vector512.MultiplyAddEstimate(Vector512.Abs(x), Vector512.Create(P * InvSqrt2), Vector512<float>.One);
        var poly = Vector512.MultiplyAddEstimate(t, Vector512.Create(A5), Vector512.Create(A4));
        poly = Vector512.MultiplyAddEstimate(t, poly, Vector512.Create(A3));
        poly = Vector512.MultiplyAddEstimate(t, poly, Vector512.Create(A2));
        poly = Vector512.MultiplyAddEstimate(t, poly, Vector512.Create(A1));
        var q = Vector512.Create(0.5f) * t * poly * e;
        pdf = e * Vector512.Create(InvSqrt2Pi);
        return Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(x, Vector512<float>.Zero), Vector512<float>.One - q, q);
    }
}
