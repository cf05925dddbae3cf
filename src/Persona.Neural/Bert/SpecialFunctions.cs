using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Persona.Neural.Bert;

/// <summary>
/// The error function to double precision (≈1e-15 absolute) and the exact GELU built on it.
/// <para>
/// <see cref="Erf"/> is a degree-14 Taylor polynomial around the nearest of the centres 0, h, 2h, …, 6 (h = 1/4, so
/// |x − c| ≤ 1/8). The coefficients are exact: erf⁽ⁿ⁺¹⁾(c) = (2/√π)(−1)ⁿHₙ(c)e^(−c²) with Hₙ the Hermite polynomials,
/// and erf(c) itself comes from an all-positive series, both computed once at start-up. The truncation error is below
/// (2/√π)·1.09·√(2¹⁴·14!)/15!·(1/8)¹⁵ ≈ 1e-18 (Cramér's bound on Hₙ), so rounding dominates. Past 6, erf = ±1 in double.
/// </para>
/// <para>
/// The span GELU needs SIMD, which per-lane table lookups defeat, so it uses one polynomial for erf on [0, 4]
/// interpolated from those tables at start-up (within 1e-11, far below float resolution), evaluated in double on
/// Vector512/Vector256 lanes.
/// </para>
/// </summary>
public static class SpecialFunctions
{
    private const double Step = 0.25;
    private const double InverseStep = 1 / Step;
    private const double Cutoff = 6.0;
    private const int Centres = (int)(Cutoff / Step) + 1;
    private const int Degree = 14;
    private const double TwoOverSqrtPi = 1.1283791670955126;
    private const double InverseSqrt2 = 0.70710678118654752;

    // erf is entire, so its Chebyshev coefficients on [0, 4] fall off faster than geometrically: degree 24 is within
    // 1e-11 of erf (checked against the tables in the tests), far below float resolution. The Estrin trees below are
    // written out for exactly this degree.
    private const double PolynomialLimit = 4.0;
    private const int PolynomialDegree = 24;

    // (Centres, Degree + 1): Taylor coefficients of erf around centre j·Step, lowest order first.
    private static readonly double[] Coefficients = BuildCoefficients();

    // (PolynomialDegree + 1): erf on [0, PolynomialLimit] in powers of u = x/2 − 1. Built after Coefficients, which it uses.
    private static readonly double[] PolynomialCoefficients = BuildPolynomial();

    /// <summary>erf(x).</summary>
    public static double Erf(double x)
    {
        if (double.IsNaN(x))
        {
            return double.NaN;
        }

        double ax = Math.Abs(x);
        if (ax >= Cutoff)
        {
            return Math.CopySign(1.0, x);
        }

        int j = (int)((ax * InverseStep) + 0.5);
        double delta = ax - (j * Step);
        var c = Coefficients.AsSpan(j * (Degree + 1), Degree + 1);
        double sum = c[Degree];
        for (int n = Degree - 1; n >= 0; n--)
        {
            sum = Math.FusedMultiplyAdd(sum, delta, c[n]);
        }

        // Rounding can carry the polynomial a hair past 1 near the cut-off.
        return Math.CopySign(Math.Min(sum, 1.0), x);
    }

    /// <summary>erfc(x) = 1 − erf(x) (absolute, not relative, accuracy in the far tail).</summary>
    public static double Erfc(double x) => 1.0 - Erf(x);

    /// <summary>The exact GELU, x·Φ(x) = ½x(1 + erf(x/√2)).</summary>
    public static double Gelu(double x) => 0.5 * x * (1.0 + Erf(x * InverseSqrt2));

    /// <summary>
    /// Applies the exact GELU in place, in double precision on SIMD lanes (Vector512 → Vector256 → scalar) with
    /// <see cref="ErfPolynomial"/>'s polynomial.
    /// </summary>
    public static void Gelu(Span<float> values)
    {
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; i <= values.Length - Vector512<float>.Count; i += Vector512<float>.Count)
            {
                var slice = values.Slice(i, Vector512<float>.Count);
                var input = Vector512.Create<float>(slice);
                Vector512.Narrow(GeluVector(Vector512.WidenLower(input)), GeluVector(Vector512.WidenUpper(input))).CopyTo(slice);
            }
        }
        else if (Vector256.IsHardwareAccelerated)
        {
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                var slice = values.Slice(i, Vector256<float>.Count);
                var input = Vector256.Create<float>(slice);
                Vector256.Narrow(GeluVector(Vector256.WidenLower(input)), GeluVector(Vector256.WidenUpper(input))).CopyTo(slice);
            }
        }

        for (; i < values.Length; i++)
        {
            double v = values[i];
            values[i] = (float)(0.5 * v * (1.0 + ErfPolynomial(v * InverseSqrt2)));
        }
    }

    /// <summary>
    /// erf as the span GELU computes it: on |x| &lt; 4 a degree-24 polynomial in u = |x|/2 − 1 (the Chebyshev interpolant
    /// of <see cref="Erf"/>, re-expanded in powers of u; erf's coefficients fall off so fast that the re-expansion loses
    /// nothing), evaluated by Estrin's scheme; ±1 beyond, where 1 − erf(4) = 1.5e-8 is below float resolution.
    /// </summary>
    public static double ErfPolynomial(double x)
    {
        double a = Math.Abs(x);
        if (a >= PolynomialLimit)
        {
            return Math.CopySign(1.0, x);
        }

        var m = PolynomialCoefficients;
        double u = (a * (2.0 / PolynomialLimit)) - 1.0;
        double u2 = u * u, u4 = u2 * u2, u8 = u4 * u4, u16 = u8 * u8;
        static double P(double hi, double x, double lo) => Math.FusedMultiplyAdd(hi, x, lo);
        double q0 = P(m[1], u, m[0]), q1 = P(m[3], u, m[2]), q2 = P(m[5], u, m[4]), q3 = P(m[7], u, m[6]);
        double q4 = P(m[9], u, m[8]), q5 = P(m[11], u, m[10]), q6 = P(m[13], u, m[12]), q7 = P(m[15], u, m[14]);
        double q8 = P(m[17], u, m[16]), q9 = P(m[19], u, m[18]), q10 = P(m[21], u, m[20]), q11 = P(m[23], u, m[22]);
        double r0 = P(q1, u2, q0), r1 = P(q3, u2, q2), r2 = P(q5, u2, q4), r3 = P(q7, u2, q6), r4 = P(q9, u2, q8), r5 = P(q11, u2, q10);
        double s0 = P(r1, u4, r0), s1 = P(r3, u4, r2), s2 = P(r5, u4, r4);
        double t0 = P(s1, u8, s0), t1 = P(m[24], u8, s2);
        return Math.CopySign(P(t1, u16, t0), x);
    }

    // GELU on (4) doubles: the ErfPolynomial evaluation lane-wise. Estrin's tree has no loop-carried state, so the JIT
    // keeps everything in registers and consecutive vectors overlap (a Clenshaw or Horner loop is latency-bound here).
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<double> GeluVector(Vector256<double> v)
    {
        var m = PolynomialCoefficients;
        var x = v * InverseSqrt2;
        var a = Vector256.Abs(x);
        var u = (a * (2.0 / PolynomialLimit)) - Vector256<double>.One;
        var u2 = u * u;
        var u4 = u2 * u2;
        var u8 = u4 * u4;
        var u16 = u8 * u8;
        var r0 = Vector256.FusedMultiplyAdd(P(m[3], u, m[2]), u2, P(m[1], u, m[0]));
        var r1 = Vector256.FusedMultiplyAdd(P(m[7], u, m[6]), u2, P(m[5], u, m[4]));
        var r2 = Vector256.FusedMultiplyAdd(P(m[11], u, m[10]), u2, P(m[9], u, m[8]));
        var r3 = Vector256.FusedMultiplyAdd(P(m[15], u, m[14]), u2, P(m[13], u, m[12]));
        var r4 = Vector256.FusedMultiplyAdd(P(m[19], u, m[18]), u2, P(m[17], u, m[16]));
        var r5 = Vector256.FusedMultiplyAdd(P(m[23], u, m[22]), u2, P(m[21], u, m[20]));
        var t0 = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(r3, u4, r2), u8, Vector256.FusedMultiplyAdd(r1, u4, r0));
        var t1 = Vector256.FusedMultiplyAdd(Vector256.Create(m[24]), u8, Vector256.FusedMultiplyAdd(r5, u4, r4));
        var erf = Vector256.FusedMultiplyAdd(t1, u16, t0);
        erf = Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(a, Vector256.Create(PolynomialLimit)), Vector256<double>.One, erf);
        erf = Vector256.ConditionalSelect(Vector256.LessThan(x, Vector256<double>.Zero), -erf, erf);
        return 0.5 * v * (Vector256<double>.One + erf);

        static Vector256<double> P(double hi, Vector256<double> x, double lo) =>
            Vector256.FusedMultiplyAdd(Vector256.Create(hi), x, Vector256.Create(lo));
    }

    // GELU on (8) doubles; see the (4)-double overload.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<double> GeluVector(Vector512<double> v)
    {
        var m = PolynomialCoefficients;
        var x = v * InverseSqrt2;
        var a = Vector512.Abs(x);
        var u = (a * (2.0 / PolynomialLimit)) - Vector512<double>.One;
        var u2 = u * u;
        var u4 = u2 * u2;
        var u8 = u4 * u4;
        var u16 = u8 * u8;
        var r0 = Vector512.FusedMultiplyAdd(P(m[3], u, m[2]), u2, P(m[1], u, m[0]));
        var r1 = Vector512.FusedMultiplyAdd(P(m[7], u, m[6]), u2, P(m[5], u, m[4]));
        var r2 = Vector512.FusedMultiplyAdd(P(m[11], u, m[10]), u2, P(m[9], u, m[8]));
        var r3 = Vector512.FusedMultiplyAdd(P(m[15], u, m[14]), u2, P(m[13], u, m[12]));
        var r4 = Vector512.FusedMultiplyAdd(P(m[19], u, m[18]), u2, P(m[17], u, m[16]));
        var r5 = Vector512.FusedMultiplyAdd(P(m[23], u, m[22]), u2, P(m[21], u, m[20]));
        var t0 = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(r3, u4, r2), u8, Vector512.FusedMultiplyAdd(r1, u4, r0));
        var t1 = Vector512.FusedMultiplyAdd(Vector512.Create(m[24]), u8, Vector512.FusedMultiplyAdd(r5, u4, r4));
        var erf = Vector512.FusedMultiplyAdd(t1, u16, t0);
        erf = Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(a, Vector512.Create(PolynomialLimit)), Vector512<double>.One, erf);
        erf = Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<double>.Zero), -erf, erf);
        return 0.5 * v * (Vector512<double>.One + erf);

        static Vector512<double> P(double hi, Vector512<double> x, double lo) =>
            Vector512.FusedMultiplyAdd(Vector512.Create(hi), x, Vector512.Create(lo));
    }

    /// <summary>
    /// Reference erf from the series erf(x) = (2/√π)e^(−x²) Σ (2x²)ⁿ x / (1·3·…·(2n+1)): every term positive, so
    /// there is no cancellation; slow (up to ~150 terms), used to build the tables and to test them.
    /// </summary>
    public static double ErfSeries(double x)
    {
        double ax = Math.Abs(x);
        double twoX2 = 2 * ax * ax;
        double term = ax;
        double sum = ax;
        for (int n = 0; n < 1000; n++)
        {
            term *= twoX2 / ((2 * n) + 3);
            sum += term;
            if (term < sum * 1e-17)
            {
                break;
            }
        }

        return Math.CopySign(Math.Min(1.0, TwoOverSqrtPi * Math.Exp(-ax * ax) * sum), x);
    }

    // The Chebyshev interpolant of erf on [0, limit] at the degree+1 Chebyshev nodes, from the exact Taylor tables
    // (c_k = 2/(N+1)·Σ_j erf(x_j)·cos(k·θ_j), θ_j = π(j + ½)/(N+1), c_0 halved), re-expanded in powers of u through
    // T_0 = 1, T_1 = u, T_{k+1} = 2u·T_k − T_{k−1} (integer coefficients, exact in double).
    private static double[] BuildPolynomial()
    {
        int n = PolynomialDegree + 1;
        var values = new double[n];
        for (int j = 0; j < n; j++)
        {
            values[j] = Erf((Math.Cos(Math.PI * (j + 0.5) / n) + 1.0) * (PolynomialLimit / 2));
        }

        var monomial = new double[n];
        var previous = new double[n];
        var current = new double[n];
        var next = new double[n];
        for (int k = 0; k < n; k++)
        {
            double c = 0;
            for (int j = 0; j < n; j++)
            {
                c += values[j] * Math.Cos(k * Math.PI * (j + 0.5) / n);
            }

            c *= (k == 0 ? 1.0 : 2.0) / n;
            if (k == 0)
            {
                current[0] = 1;
            }
            else if (k == 1)
            {
                current.CopyTo(previous, 0);
                Array.Clear(current);
                current[1] = 1;
            }
            else
            {
                for (int p = 0; p < n; p++)
                {
                    next[p] = (p > 0 ? 2 * current[p - 1] : 0) - previous[p];
                }

                (previous, current, next) = (current, next, previous);
            }

            for (int p = 0; p <= k; p++)
            {
                monomial[p] += c * current[p];
            }
        }

        return monomial;
    }

    private static double[] BuildCoefficients()
    {
        var table = new double[Centres * (Degree + 1)];
        Span<double> hermite = stackalloc double[Degree];
        for (int j = 0; j < Centres; j++)
        {
            double c = j * Step;
            var row = table.AsSpan(j * (Degree + 1), Degree + 1);
            row[0] = ErfSeries(c);

            // Hₙ(c) by H₀ = 1, H₁ = 2c, Hₙ₊₁ = 2c·Hₙ − 2n·Hₙ₋₁ (forward recurrence is stable for Hermite).
            hermite[0] = 1;
            hermite[1] = 2 * c;

            for (int n = 1; n + 1 < Degree; n++)
            {
                hermite[n + 1] = (2 * c * hermite[n]) - (2 * n * hermite[n - 1]);
            }

            // Coefficient of δⁿ (n ≥ 1) is erf⁽ⁿ⁾(c)/n! = (2/√π)(−1)ⁿ⁻¹Hₙ₋₁(c)e^(−c²)/n!.
            double scale = TwoOverSqrtPi * Math.Exp(-c * c);
            double factorial = 1;
            for (int n = 1; n <= Degree; n++)
            {
                factorial *= n;
                double sign = (n - 1) % 2 == 0 ? 1 : -1;
                row[n] = sign * hermite[n - 1] * scale / factorial;
            }
        }

        return table;
    }
}
