namespace Persona.Core.Online;

/// <summary>A rate or mean with its 95 % interval.</summary>
public readonly record struct Interval(double Estimate, double Low, double High);

/// <summary>The outcome of a two-sample test, B minus A: the difference, the test statistic and the two-sided p-value.</summary>
public readonly record struct TestResult(double Difference, double Statistic, double PValue);

/// <summary>
/// Statistics for online A/B metrics: intervals for rates and means, the two-proportion z-test and Welch's t-test.
/// Everything is computed from counts and sums so that running totals are enough.
/// </summary>
public static class Significance
{
    /// <summary>The 97.5 % quantile of the standard normal distribution.</summary>
    public const double Z95 = 1.959963984540054;

    private const double InvSqrt2Pi = 0.398942280401432677939946059934;
    private const double LnSqrtPi = 0.572364942924700087071713675677;
    private const double HalfLn2Pi = 0.918938533204672741780329736406;

    // Lanczos coefficients for g = 7, n = 9.
    private static readonly double[] Lanczos =
    [
        0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
        12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
    ];

    /// <summary>
    /// Standard normal CDF with about 1e-14 relative error, in the tails too: a series for |z| &lt; 2 and the
    /// continued fraction of the Mills ratio beyond, so the small tail is never formed as 1 minus something.
    /// </summary>
    public static double NormalCdf(double z)
    {
        if (double.IsNaN(z)) return double.NaN;
        var a = Math.Abs(z);
        if (a >= 39) return z < 0 ? 0 : 1; // Φ(−39) is below the smallest double
        if (a < 2)
        {
            // Φ(z) = 1/2 + φ(z) (z + z³/3 + z⁵/(3·5) + …): all terms of one sign (Marsaglia 2004).
            double sum = a, term = a, a2 = a * a;
            for (var k = 3; ; k += 2)
            {
                term *= a2 / k;
                var next = sum + term;
                if (next == sum) break;
                sum = next;
            }
            var half = Density(a) * sum;
            return z < 0 ? 0.5 - half : 0.5 + half;
        }
        var tail = Density(a) * MillsRatio(a);
        return z < 0 ? tail : 1 - tail;
    }

    /// <summary>
    /// Wilson score interval for successes out of trials at 95 %. No trials gives (0, 0, 1): nothing is known.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">trials is negative or successes is outside 0..trials.</exception>
    public static Interval Wilson(long successes, long trials)
    {
        CheckCounts(successes, trials, nameof(successes), nameof(trials));
        if (trials == 0) return new Interval(0, 0, 1);
        double n = trials, p = successes / n, z2 = Z95 * Z95;
        var denom = 1 + (z2 / n);
        var center = (p + (z2 / (2 * n))) / denom;
        var half = Z95 * Math.Sqrt((p * (1 - p) / n) + (z2 / (4 * n * n))) / denom;
        var high = successes == trials ? 1 : Math.Min(1, center + half);
        // The bounds are the roots of denom·q² − (2p + z²/n)·q + p² = 0; taking the low one from their product
        // avoids center − half cancelling when successes are few.
        var low = p * p / denom / high;
        return new Interval(p, low, high);
    }

    /// <summary>
    /// Mean with a normal 95 % interval from the count, sum and sum of squares (sample variance, n − 1).
    /// n = 0 gives (0, 0, 0); n = 1 gives (mean, mean, mean) since one value says nothing about the spread.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">n is negative.</exception>
    public static Interval MeanInterval(long n, double sum, double sumOfSquares)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        if (n == 0) return new Interval(0, 0, 0);
        var mean = sum / n;
        if (n < 2) return new Interval(mean, mean, mean);
        var half = Z95 * Math.Sqrt(Variance(n, sum, sumOfSquares) / n);
        return new Interval(mean, mean - half, mean + half);
    }

    /// <summary>
    /// Two-proportion z-test with the pooled variance, B minus A. No trials on either side, or a pooled rate of 0 or 1,
    /// gives (difference, 0, 1).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative or successes exceed trials.</exception>
    public static TestResult TwoProportion(long successesA, long trialsA, long successesB, long trialsB)
    {
        CheckCounts(successesA, trialsA, nameof(successesA), nameof(trialsA));
        CheckCounts(successesB, trialsB, nameof(successesB), nameof(trialsB));
        var pA = trialsA == 0 ? 0 : successesA / (double)trialsA;
        var pB = trialsB == 0 ? 0 : successesB / (double)trialsB;
        var difference = pB - pA;
        if (trialsA == 0 || trialsB == 0) return new TestResult(difference, 0, 1);
        var pooled = ((double)successesA + successesB) / ((double)trialsA + trialsB);
        var variance = pooled * (1 - pooled) * ((1.0 / trialsA) + (1.0 / trialsB));
        if (variance <= 0) return new TestResult(difference, 0, 1);
        var z = difference / Math.Sqrt(variance);
        return new TestResult(difference, z, 2 * NormalCdf(-Math.Abs(z)));
    }

    /// <summary>
    /// Welch's t-test for the means, B minus A, from each side's count, sum and sum of squares; the two-sided p-value
    /// uses Student's t with the Welch–Satterthwaite degrees of freedom. Fewer than two values on either side, or no
    /// variance on both, gives (difference, 0, 1).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">A count is negative.</exception>
    public static TestResult Welch(long nA, double sumA, double sumSqA, long nB, double sumB, double sumSqB)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(nA);
        ArgumentOutOfRangeException.ThrowIfNegative(nB);
        var meanA = nA == 0 ? 0 : sumA / nA;
        var meanB = nB == 0 ? 0 : sumB / nB;
        var difference = meanB - meanA;
        if (nA < 2 || nB < 2) return new TestResult(difference, 0, 1);
        // Squared standard errors of the two means.
        var vA = Variance(nA, sumA, sumSqA) / nA;
        var vB = Variance(nB, sumB, sumSqB) / nB;
        var v = vA + vB;
        if (v <= 0) return new TestResult(difference, 0, 1);
        var t = difference / Math.Sqrt(v);
        var df = v * v / ((vA * vA / (nA - 1)) + (vB * vB / (nB - 1)));
        return new TestResult(difference, t, StudentTwoSidedP(t, df));
    }

    /// <summary>
    /// P(|T| ≥ |t|) for Student's t with df degrees of freedom (df may be fractional; +∞ gives the normal).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">df is not positive.</exception>
    public static double StudentTwoSidedP(double t, double df)
    {
        if (!(df > 0)) throw new ArgumentOutOfRangeException(nameof(df), df, "Degrees of freedom must be positive.");
        if (double.IsNaN(t)) return double.NaN;
        var t2 = t * t;
        if (t2 == 0) return 1;
        if (double.IsInfinity(t2)) return 0;
        // For large df the continued fraction below loses digits (its terms cancel, ~eps·df); there the expansion
        // in 1/df about the normal is accurate to ~1e-13 as long as t⁴ is small next to df.
        if (df > 1e5 && t2 * t2 <= df / 16) return 2 * StudentUpperTailExpansion(Math.Abs(t), df);
        // P(|T| ≥ t) = I_x(df/2, 1/2) with x = df / (df + t²); 1 − x is formed directly, not by subtraction.
        var x = df / (df + t2);
        var y = t2 / (df + t2);
        return RegularizedBeta(df / 2, 0.5, x, y, -LogOnePlus(t2 / df), -LogOnePlus(df / t2));
    }

    private static void CheckCounts(long successes, long trials, string successesName, string trialsName)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trials, trialsName);
        if (successes < 0 || successes > trials)
            throw new ArgumentOutOfRangeException(successesName, successes, $"Must be between 0 and {trialsName} ({trials}).");
    }

    // Sample variance from sums; cancellation can leave a tiny negative number, which means 0.
    private static double Variance(long n, double sum, double sumOfSquares) =>
        Math.Max(0, (sumOfSquares - (sum * sum / n)) / (n - 1));

    // φ(a) for a ≥ 0, with a² split into an exact part so its rounding does not grow with a (as in Cody's erfc).
    private static double Density(double a)
    {
        var rounded = Math.Floor(a * 16) / 16;
        return InvSqrt2Pi * Math.Exp(-rounded * rounded / 2) * Math.Exp(-(a - rounded) * (a + rounded) / 2);
    }

    // Q(a)/φ(a) = 1/(a + 1/(a + 2/(a + 3/(a + …)))) (Laplace), by the modified Lentz method; ~100 terms at a = 2.
    private static double MillsRatio(double a)
    {
        const double Tiny = 1e-300;
        double f = a, c = a, d = 0;
        for (var k = 1; k < 1000; k++)
        {
            d = a + (k * d);
            d = 1 / (d == 0 ? Tiny : d);
            c = a + (k / c);
            if (c == 0) c = Tiny;
            var delta = c * d;
            f *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return 1 / f;
    }

    // Upper tail of Student's t as Q(t) + φ(t)·Σ g_k(t)/df^k, k = 1..4: the density expanded in 1/df about φ and
    // integrated term by term (polynomials derived with sympy).
    private static double StudentUpperTailExpansion(double t, double df)
    {
        double t2 = t * t, e = 1 / df;
        var g1 = (t2 + 1) / 4;
        var g2 = (t2 - 3) * ((3 * t2 * t2) + (2 * t2) + 1) / 96;
        var g3 = Polynomial(t2, 1, -11, 14, 6, -3, -15) / 384;
        var g4 = Polynomial(t2, 15, -375, 2225, -2141, -939, -213, 915, 945) / 92160;
        return NormalCdf(-t) + (Density(t) * t * e * (g1 + (e * (g2 + (e * (g3 + (e * g4)))))));
    }

    // Horner's rule, highest power first.
    private static double Polynomial(double x, params ReadOnlySpan<double> coefficients)
    {
        var s = 0.0;
        foreach (var c in coefficients) s = (s * x) + c;
        return s;
    }

    // I_x(a, b), given y = 1 − x and both logarithms computed accurately by the caller.
    private static double RegularizedBeta(double a, double b, double x, double y, double logX, double logY)
    {
        var front = Math.Exp((a * logX) + (b * logY) - LogBeta(a, b));
        // The continued fraction converges fast below the mean of Beta(a, b); above it use I_x(a, b) = 1 − I_y(b, a).
        return x < (a + 1) / (a + b + 2)
            ? front * BetaContinuedFraction(a, b, x) / a
            : 1 - (front * BetaContinuedFraction(b, a, y) / b);
    }

    // The continued fraction for I_x(a, b) (Numerical Recipes' betacf) by the modified Lentz method.
    private static double BetaContinuedFraction(double a, double b, double x)
    {
        const double Tiny = 1e-300;
        double sum = a + b, plus = a + 1, minus = a - 1;
        var c = 1.0;
        var d = 1 - (sum * x / plus);
        d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
        var h = d;
        for (var m = 1; m <= 10_000; m++)
        {
            var m2 = 2 * m;
            var step = m * (b - m) * x / ((minus + m2) * (a + m2));
            d = 1 + (step * d);
            d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
            c = 1 + (step / c);
            if (Math.Abs(c) < Tiny) c = Tiny;
            h *= d * c;
            step = -(a + m) * (sum + m) * x / ((a + m2) * (plus + m2));
            d = 1 + (step * d);
            d = 1 / (Math.Abs(d) < Tiny ? Tiny : d);
            c = 1 + (step / c);
            if (Math.Abs(c) < Tiny) c = Tiny;
            var delta = d * c;
            h *= delta;
            if (Math.Abs(delta - 1) < 1e-16) break;
        }
        return h;
    }

    // ln B(a, b). With one argument large, ln Γ(big) − ln Γ(big + small) is taken from Stirling's series with the
    // large terms cancelled by hand; differencing two huge ln Γ values would lose ~log10(df) digits.
    private static double LogBeta(double a, double b)
    {
        double small = Math.Min(a, b), big = Math.Max(a, b);
        if (big < 10) return LogGamma(a) + LogGamma(b) - LogGamma(a + b);
        var difference = (-(big - 0.5) * LogOnePlus(small / big)) - (small * Math.Log(big + small)) + small
            + StirlingCorrection(big) - StirlingCorrection(big + small);
        return LogGamma(small) + difference;
    }

    // ln Γ(x) for x > 0: Lanczos (g = 7, ~1e-15) below 10, Stirling's series above.
    private static double LogGamma(double x)
    {
        if (x == 0.5) return LnSqrtPi;
        if (x >= 10) return ((x - 0.5) * Math.Log(x)) - x + HalfLn2Pi + StirlingCorrection(x);
        if (x < 0.5) return LogGamma(x + 1) - Math.Log(x);
        x -= 1;
        var s = Lanczos[0];
        for (var i = 1; i < Lanczos.Length; i++) s += Lanczos[i] / (x + i);
        var t = x + 7.5;
        return HalfLn2Pi + ((x + 0.5) * Math.Log(t)) - t + Math.Log(s);
    }

    // ln Γ(x) − Stirling's leading terms: Σ B₂ₖ / (2k(2k − 1) x^(2k−1)), k = 1..8; below 1e-17 for x ≥ 10.
    private static double StirlingCorrection(double x)
    {
        var inv2 = 1 / (x * x);
        var s = -3617.0 / 122400;
        s = (s * inv2) + (1.0 / 156);
        s = (s * inv2) - (691.0 / 360360);
        s = (s * inv2) + (1.0 / 1188);
        s = (s * inv2) - (1.0 / 1680);
        s = (s * inv2) + (1.0 / 1260);
        s = (s * inv2) - (1.0 / 360);
        s = (s * inv2) + (1.0 / 12);
        return s / x;
    }

    // ln(1 + v) without losing v's digits when v is small (Goldberg's trick).
    private static double LogOnePlus(double v)
    {
        var u = 1 + v;
        return u == 1 ? v : Math.Log(u) * v / (u - 1);
    }
}
