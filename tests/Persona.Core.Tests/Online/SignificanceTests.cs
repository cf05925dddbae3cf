using FsCheck;
using FsCheck.Fluent;
using Persona.Core.Online;
// FsCheck has types of the same names.
using Interval = Persona.Core.Online.Interval;
using TestResult = Persona.Core.Online.TestResult;

namespace Persona.Core.Tests.Online;

/// <summary>
/// Reference values come from mpmath at 40 digits, by other routes than the code's where one exists (quadrature of
/// the t density, roots of Wilson's quadratic, exact fractions); the script is at the end of this file.
/// </summary>
public sealed class SignificanceTests
{
    private static void Close(double expected, double actual, double relative)
    {
        var tolerance = relative * Math.Abs(expected);
        Assert.True(Math.Abs(actual - expected) <= tolerance, $"expected {expected:R}, got {actual:R} (relative error {Math.Abs(actual - expected) / Math.Abs(expected):E2})");
    }

    [Fact]
    public void Z95_IsTheNormalQuantile() => Close(0.975, Significance.NormalCdf(Significance.Z95), 1e-15);

    [Theory]
    [InlineData(-37.0, 5.725571222524577e-300)]
    [InlineData(-20.0, 2.7536241186062337e-89)]
    [InlineData(-6.0, 9.86587645037698e-10)]
    [InlineData(-1.96, 0.024997895148220435)]
    [InlineData(-1.9999, 0.02275553158476719)]
    [InlineData(-0.5, 0.3085375387259869)]
    [InlineData(0.0, 0.5)]
    [InlineData(0.5, 0.6914624612740131)]
    [InlineData(2.0001, 0.9772552666085894)]
    [InlineData(3.0, 0.9986501019683699)]
    [InlineData(8.0, 0.9999999999999993)]
    public void NormalCdf_MatchesMpmath(double z, double expected) => Close(expected, Significance.NormalCdf(z), 1e-13);

    [Fact]
    public void NormalCdf_EdgesAndSymmetry()
    {
        Assert.Equal(0, Significance.NormalCdf(double.NegativeInfinity));
        Assert.Equal(1, Significance.NormalCdf(double.PositiveInfinity));
        Assert.True(double.IsNaN(Significance.NormalCdf(double.NaN)));
        for (var z = -8.0; z <= 8.0; z += 0.01)
            Assert.True(Math.Abs(Significance.NormalCdf(z) + Significance.NormalCdf(-z) - 1) < 1e-15, $"z = {z}");
    }

    [Theory]
    [InlineData(0, 10, 0.0, 0.0, 0.27753279986288926)]
    [InlineData(5, 10, 0.5, 0.23659309051256397, 0.7634069094874361)]
    [InlineData(120, 1000, 0.12, 0.10129926060130914, 0.14160907584771276)]
    [InlineData(1, 1, 1.0, 0.2065493143772374, 1.0)]
    [InlineData(3, 1000000, 3e-06, 1.0202712409681227e-06, 8.821149774312436e-06)]
    public void Wilson_MatchesRootsOfTheScoreQuadratic(long successes, long trials, double estimate, double low, double high)
    {
        var interval = Significance.Wilson(successes, trials);
        Assert.Equal(estimate, interval.Estimate);
        if (low == 0) Assert.Equal(0, interval.Low);
        else Close(low, interval.Low, 1e-13);
        Close(high, interval.High, 1e-13);
    }

    [Fact]
    public void Wilson_NoTrialsKnowsNothing_AndCountsAreChecked()
    {
        Assert.Equal(new Interval(0, 0, 1), Significance.Wilson(0, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Significance.Wilson(-1, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => Significance.Wilson(11, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => Significance.Wilson(0, -1));
    }

    [Fact]
    public void Wilson_AnyCounts_EstimateInsideBoundsInsideUnitInterval()
    {
        var counts = Gen.Choose(0, 10_000_000).SelectMany(n => Gen.Choose(0, n).Select(s => (S: s, N: n))).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(counts, c =>
        {
            var w = Significance.Wilson(c.S, c.N);
            return 0 <= w.Low && w.Low <= w.Estimate && w.Estimate <= w.High && w.High <= 1 && w.Low < w.High;
        }));
    }

    [Theory]
    [InlineData(8, 91.75, 1075.1875, 11.46875, 10.214589422002033, 12.722910577997967)]
    [InlineData(40, 400.0, 4156.0, 10.0, 9.380204967695438, 10.619795032304562)]
    [InlineData(1000, 25500.5, 1234567.25, 25.5005, 24.00157389261133, 26.999426107388672)]
    public void MeanInterval_MatchesExactFractions(long n, double sum, double sumOfSquares, double mean, double low, double high)
    {
        var interval = Significance.MeanInterval(n, sum, sumOfSquares);
        Assert.Equal(mean, interval.Estimate);
        Close(low, interval.Low, 1e-13);
        Close(high, interval.High, 1e-13);
    }

    [Fact]
    public void MeanInterval_FewerThanTwoValues_HasNoWidth()
    {
        Assert.Equal(new Interval(0, 0, 0), Significance.MeanInterval(0, 0, 0));
        Assert.Equal(new Interval(4.5, 4.5, 4.5), Significance.MeanInterval(1, 4.5, 20.25));
        // Equal values: rounding in sumSq − sum²/n may leave a negative variance, which must not become a NaN width.
        foreach (var value in new[] { 0.1, 0.7, 1e-3, 123.456 })
            for (var n = 2; n <= 50; n++)
            {
                double sum = 0, sumSq = 0;
                for (var i = 0; i < n; i++) { sum += value; sumSq += value * value; }
                var interval = Significance.MeanInterval(n, sum, sumSq);
                Assert.True(interval.High - interval.Low <= 1e-6 * value, $"{value} × {n}: {interval}");
            }
        Assert.Throws<ArgumentOutOfRangeException>(() => Significance.MeanInterval(-1, 0, 0));
    }

    [Theory]
    [InlineData(120, 1000, 150, 1000, 0.03, 1.9630498076223553, 0.04964038686536879)]
    [InlineData(30, 2000, 45, 2100, 0.0064285714285714285, 1.5353856357856004, 0.12468912997721582)]
    [InlineData(5000, 100000, 5230, 100000, 0.0023, 2.334485808647001, 0.01957029830322278)]
    public void TwoProportion_MatchesMpmath(long sA, long nA, long sB, long nB, double difference, double z, double p)
    {
        var result = Significance.TwoProportion(sA, nA, sB, nB);
        Close(difference, result.Difference, 1e-13);
        Close(z, result.Statistic, 1e-12);
        Close(p, result.PValue, 1e-12);
    }

    [Fact]
    public void TwoProportion_NothingToCompare_GivesPOne()
    {
        Assert.Equal(new TestResult(0.5, 0, 1), Significance.TwoProportion(0, 0, 5, 10));
        Assert.Equal(new TestResult(-0.5, 0, 1), Significance.TwoProportion(5, 10, 0, 0));
        Assert.Equal(new TestResult(0, 0, 1), Significance.TwoProportion(0, 10, 0, 20));
        Assert.Equal(new TestResult(0, 0, 1), Significance.TwoProportion(10, 10, 20, 20));
        Assert.Throws<ArgumentOutOfRangeException>(() => Significance.TwoProportion(3, 2, 1, 2));
        Assert.Throws<ArgumentOutOfRangeException>(() => Significance.TwoProportion(1, 2, 1, -2));
    }

    [Fact]
    public void TwoProportion_SwappingArms_NegatesDifferenceAndStatistic_KeepsP()
    {
        var arm = Gen.Choose(0, 1_000_000).SelectMany(n => Gen.Choose(0, n).Select(s => (S: (long)s, N: (long)n)));
        var arms = arm.SelectMany(a => arm.Select(b => (A: a, B: b))).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(arms, x =>
        {
            var ab = Significance.TwoProportion(x.A.S, x.A.N, x.B.S, x.B.N);
            var ba = Significance.TwoProportion(x.B.S, x.B.N, x.A.S, x.A.N);
            return ba.Difference == -ab.Difference && ba.Statistic == -ab.Statistic && ba.PValue == ab.PValue
                && ab.PValue >= 0 && ab.PValue <= 1;
        }));
    }

    [Theory]
    [InlineData(2.0, 5.0, 0.10193947882985836)]
    [InlineData(1.0, 30.5, 0.32517859443517927)]
    [InlineData(3.5, 12.0, 0.0043818694317481486)]
    [InlineData(0.3, 0.5, 0.8448591521304908)]
    [InlineData(12.0, 3.0, 0.0012450158007893367)]
    [InlineData(1.5, 100000.0, 0.1336175595228306)]
    [InlineData(2.0, 200000.0, 0.0455016136737269)]
    [InlineData(4.0, 5000000.0, 6.33433937164203e-05)]
    [InlineData(2.5, 1000000000.0, 0.012419330810402494)]
    public void StudentTwoSidedP_MatchesQuadratureOfTheDensity(double t, double df, double expected)
    {
        Close(expected, Significance.StudentTwoSidedP(t, df), 1e-11);
        Close(expected, Significance.StudentTwoSidedP(-t, df), 1e-11);
    }

    [Fact]
    public void StudentTwoSidedP_Edges()
    {
        Assert.Equal(1, Significance.StudentTwoSidedP(0, 7));
        Assert.Equal(0, Significance.StudentTwoSidedP(double.PositiveInfinity, 7));
        Assert.Equal(2 * Significance.NormalCdf(-2.5), Significance.StudentTwoSidedP(2.5, double.PositiveInfinity));
        Assert.Throws<ArgumentOutOfRangeException>(() => Significance.StudentTwoSidedP(1, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => Significance.StudentTwoSidedP(1, double.NaN));
    }

    [Fact]
    public void StudentTwoSidedP_ExpansionAndContinuedFractionAgreeWhereTheyMeet()
    {
        // Just above df = 1e5 the expansion in 1/df is used, at 1e5 the continued fraction.
        for (var t = 0.25; t <= 4.4; t += 0.25)
            Close(Significance.StudentTwoSidedP(t, 100_000), Significance.StudentTwoSidedP(t, 100_000.000001), 1e-11);
    }

    [Fact]
    public void StudentTwoSidedP_FallsAsTGrows_InUnitInterval()
    {
        foreach (var df in new[] { 0.7, 1, 2.5, 9, 30, 1_000, 150_000, 1e8 })
        {
            var previous = 1.0;
            for (var t = 0.05; t < 60; t *= 1.1)
            {
                var p = Significance.StudentTwoSidedP(t, df);
                Assert.True(p >= 0 && p <= previous, $"t = {t}, df = {df}: {p} after {previous}");
                previous = p;
            }
        }
    }

    [Theory]
    [InlineData(8, 91.75, 1075.1875, 11, 156.0, 2240.75, 2.7130681818181817, 3.320700343252729, 0.004822621235088627)] // df 14.556482353030738
    [InlineData(40, 400.0, 4156.0, 25, 300.0, 4200.0, 2.0, 1.9069251784911847, 0.06652861303987642)] // df 28.862385321100916
    [InlineData(1000, 25500.5, 1234567.25, 1200, 31250.75, 1512345.5, 0.5417916666666667, 0.5236832363926863, 0.6005534713485441)] // df 2125.548645098876
    public void Welch_MatchesExactFractionsAndQuadrature(long nA, double sumA, double sumSqA, long nB, double sumB, double sumSqB, double difference, double t, double p)
    {
        var result = Significance.Welch(nA, sumA, sumSqA, nB, sumB, sumSqB);
        Close(difference, result.Difference, 1e-13);
        Close(t, result.Statistic, 1e-11);
        Close(p, result.PValue, 1e-10);
    }

    [Fact]
    public void Welch_TooLittleToTest_GivesPOne()
    {
        Assert.Equal(new TestResult(1, 0, 1), Significance.Welch(1, 2, 4, 5, 15, 50));
        Assert.Equal(new TestResult(-3, 0, 1), Significance.Welch(5, 15, 50, 0, 0, 0));
        Assert.Equal(new TestResult(2, 0, 1), Significance.Welch(4, 4, 4, 3, 9, 27)); // both constant
        Assert.Throws<ArgumentOutOfRangeException>(() => Significance.Welch(-1, 0, 0, 2, 0, 0));
    }

    [Fact]
    public void Welch_AnySamples_SymmetricWithPInUnitInterval()
    {
        var side = Gen.Choose(0, 2_000).SelectMany(n => Gen.Choose(-500, 500).SelectMany(mean => Gen.Choose(0, 300).Select(sd =>
        {
            // sums of n values with this mean and sample standard deviation (sd / 10)
            double m = mean / 10.0, s = sd / 10.0;
            return (N: (long)n, Sum: n * m, SumSq: (n * m * m) + (Math.Max(0, n - 1) * s * s));
        })));
        var sides = side.SelectMany(a => side.Select(b => (A: a, B: b))).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(500), Prop.ForAll(sides, x =>
        {
            var ab = Significance.Welch(x.A.N, x.A.Sum, x.A.SumSq, x.B.N, x.B.Sum, x.B.SumSq);
            var ba = Significance.Welch(x.B.N, x.B.Sum, x.B.SumSq, x.A.N, x.A.Sum, x.A.SumSq);
            return ba.Difference == -ab.Difference && ba.Statistic == -ab.Statistic && ba.PValue == ab.PValue
                && ab.PValue >= 0 && ab.PValue <= 1;
        }));
    }
}

// The script that produced the reference values (Python 3.11, mpmath 1.3.0):
//
//   # Reference values for SignificanceTests; needs only mpmath (python3 -m pip install mpmath). Run: python3 reference.py
//   from fractions import Fraction as F
//   import mpmath as mp
//
//   mp.mp.dps = 40
//   Z = mp.sqrt(2) * mp.erfinv(mp.mpf("0.95"))
//
//
//   def q(x):  # exact Fraction -> mpf
//       return mp.mpf(x.numerator) / x.denominator if isinstance(x, F) else mp.mpf(x)
//
//   def r(x):  # shortest C# literal that round-trips the double nearest to x
//       return repr(float(q(x)))
//
//   print("# NormalCdf")
//   for z in ["-37", "-20", "-6", "-1.96", "-1.9999", "-0.5", "0", "0.5", "2.0001", "3", "8"]:
//       print(f"[InlineData({z}, {r(mp.ncdf(mp.mpf(z)))})]")
//
//   print("# Wilson: the bounds are the roots of (1 + z²/n) q² − (2p + z²/n) q + p² = 0")
//   for s, n in [(0, 10), (5, 10), (120, 1000), (1, 1), (3, 1_000_000)]:
//       p, z2 = mp.mpf(s) / n, Z * Z / n
//       low, high = sorted(mp.re(q) for q in mp.polyroots([1 + z2, -(2 * p + z2), p * p], extraprec=200))
//       print(f"[InlineData({s}, {n}, {r(p)}, {r(low)}, {r(high)})]")
//
//   print("# TwoProportion, B minus A, pooled variance")
//   for sa, na, sb, nb in [(120, 1000, 150, 1000), (30, 2000, 45, 2100), (5000, 100000, 5230, 100000)]:
//       pa, pb, pool = F(sa, na), F(sb, nb), F(sa + sb, na + nb)
//       z = q(pb - pa) / mp.sqrt(q(pool * (1 - pool) * (F(1, na) + F(1, nb))))
//       print(f"[InlineData({sa}, {na}, {sb}, {nb}, {r(pb - pa)}, {r(z)}, {r(2 * mp.ncdf(-abs(z)))})]")
//
//   def t_two_sided(t, df):
//       """2 ∫_t^∞ of the t density by quadrature, checked against a second method."""
//       t, df = mp.mpf(t), mp.mpf(df)
//       c = mp.exp(mp.loggamma((df + 1) / 2) - mp.loggamma(df / 2)) / mp.sqrt(df * mp.pi)
//       dens = lambda u: c * mp.exp(-(df + 1) / 2 * mp.log1p(u * u / df))
//       p = 2 * mp.quad(dens, [t + k for k in (0, 0.5, 1, 2, 4, 8, 16, 32)] + [mp.inf])
//       if df <= 1000:
//           check = mp.betainc(df / 2, mp.mpf(1) / 2, 0, df / (df + t * t), regularized=True)
//       else:  # mpmath's betainc does not converge here: the same integral over [0, t] from the other side
//           check = 1 - 2 * mp.quad(dens, mp.linspace(0, t, 9))
//       assert abs(p / check - 1) < mp.mpf(10) ** -15, (t, df, p, check)
//       return p
//
//   print("# StudentTwoSidedP")
//   for t, df in [("2.0", "5"), ("1.0", "30.5"), ("3.5", "12"), ("0.3", "0.5"), ("12", "3"), ("1.5", "100000"),
//                 ("2.0", "200000"), ("4.0", "5000000"), ("2.5", "1000000000")]:
//       print(f"[InlineData({t}, {df}, {r(t_two_sided(t, df))})]")
//
//   def welch(a, b):
//       (na, sa, qa), (nb, sb, qb) = a, b
//       ma, mb = F(sa) / na, F(sb) / nb
//       va, vb = (F(qa) - F(sa) ** 2 / na) / (na - 1) / na, (F(qb) - F(sb) ** 2 / nb) / (nb - 1) / nb
//       t = q(mb - ma) / mp.sqrt(q(va + vb))
//       df = (va + vb) ** 2 / (va ** 2 / (na - 1) + vb ** 2 / (nb - 1))
//       return mb - ma, t, df, t_two_sided(abs(t), q(df))
//
//   def sums(xs):
//       return len(xs), sum(map(F, xs)), sum(F(x) ** 2 for x in xs)
//
//   print("# Welch: (n, sum, sumSq) per side, difference, t, df, p")
//   data_a = ["12.5", "9.75", "11.0", "14.25", "10.5", "13.0", "8.75", "12.0"]
//   data_b = ["13.5", "15.25", "11.75", "14.0", "16.5", "12.25", "15.0", "13.75", "14.5", "17.0", "12.5"]
//   for a, b in [(sums(data_a), sums(data_b)),
//                ((40, 400, 4156), (25, 300, 4200)),
//                ((1000, F("25500.5"), F("1234567.25")), (1200, F("31250.75"), F("1512345.5")))]:
//       d, t, df, p = welch(a, b)
//       print(f"[InlineData({a[0]}, {r(a[1])}, {r(a[2])}, {b[0]}, {r(b[1])}, {r(b[2])}, {r(d)}, {r(t)}, {r(p)})] // df {r(df)}")
//
//   print("# MeanInterval: mean ± z·sqrt(s²/n)")
//   for n, s, ss in [sums(data_a), (40, 400, 4156), (1000, F("25500.5"), F("1234567.25"))]:
//       m, half = F(s) / n, Z * mp.sqrt(q((F(ss) - F(s) ** 2 / n) / (n - 1) / n))
//       print(f"[InlineData({n}, {r(s)}, {r(ss)}, {r(m)}, {r(q(m) - half)}, {r(q(m) + half)})]")
