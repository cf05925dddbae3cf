using FsCheck;
using FsCheck.Fluent;
using Persona.Neural.Bert;

namespace Persona.Neural.Tests.Bert;

public sealed class SpecialFunctionsTests
{
    [Theory]
    [InlineData(0.0, 0.0)]
    [InlineData(0.1, 0.1124629160182849)]
    [InlineData(0.5, 0.5204998778130465)]
    [InlineData(1.0, 0.8427007929497149)]
    [InlineData(1.5, 0.9661051464753108)]
    [InlineData(2.0, 0.9953222650189527)]
    [InlineData(3.0, 0.9999779095030014)]
    [InlineData(-1.0, -0.8427007929497149)]
    [InlineData(7.0, 1.0)]
    public void Erf_KnownValues_MatchToDoublePrecision(double x, double expected)
    {
        Assert.Equal(expected, SpecialFunctions.Erf(x), 5e-15);
        Assert.Equal(expected, SpecialFunctions.ErfSeries(x), 5e-15);
    }

    [Fact]
    public void Erf_DenseGridAcrossEveryCentre_MatchesPositiveSeries()
    {
        double worst = 0;
        for (double x = -6.5; x <= 6.5; x += 0.0009765625 * 1.37)
        {
            worst = Math.Max(worst, Math.Abs(SpecialFunctions.Erf(x) - SpecialFunctions.ErfSeries(x)));
        }

        Assert.True(worst < 1e-14, $"max |diff| {worst:E2}");
    }

    [Fact]
    public void ErfPolynomial_DenseGrid_MatchesTaylorTables()
    {
        double worst = 0;
        for (double x = -5; x <= 5; x += 0.000731)
        {
            worst = Math.Max(worst, Math.Abs(SpecialFunctions.ErfPolynomial(x) - SpecialFunctions.Erf(x)));
        }

        // Beyond 4 the polynomial form returns exactly ±1: 1 − erf(4) = 1.5e-8 bounds the gap there.
        Assert.True(worst < 1.6e-8, $"max |diff| {worst:E2}");
        double inside = 0;
        for (double x = -3.999; x <= 3.999; x += 0.000731)
        {
            inside = Math.Max(inside, Math.Abs(SpecialFunctions.ErfPolynomial(x) - SpecialFunctions.Erf(x)));
        }

        Assert.True(inside < 1e-11, $"max |diff| inside [-4, 4]: {inside:E2}");
    }

    [Fact]
    public void GeluSpan_RandomFloats_MatchScalarDoubleGeluToFloatRounding()
    {
        // Lengths that exercise the vector body and the scalar tail.
        var inputs = Gen.ArrayOf(Gen.Choose(-1_200_000, 1_200_000).Select(i => i / 100_000f)).ToArbitrary();
        Prop.ForAll(inputs, values =>
        {
            var actual = values.ToArray();
            SpecialFunctions.Gelu(actual);
            for (int i = 0; i < values.Length; i++)
            {
                double expected = SpecialFunctions.Gelu((double)values[i]);
                Assert.True(Math.Abs(actual[i] - expected) <= 1e-7 * Math.Max(1, Math.Abs(expected)), $"gelu({values[i]}) = {actual[i]}, expected {expected}");
            }
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void Erf_RandomArguments_OddMonotoneAndBounded()
    {
        var doubles = Gen.Choose(-900_000, 900_000).Select(i => i / 100_000.0).ToArbitrary();
        Prop.ForAll(doubles, x =>
        {
            double y = SpecialFunctions.Erf(x);
            Assert.Equal(-y, SpecialFunctions.Erf(-x));
            Assert.InRange(y, -1.0, 1.0);
            // Monotone up to rounding: far in the tail a 1e-3 step moves erf by less than an ulp.
            Assert.True(SpecialFunctions.Erf(x + 1e-3) >= y - 1e-15);
        }).QuickCheckThrowOnFailure();
    }

    [Theory]
    [InlineData(1.0, 0.8413447460685429)]
    [InlineData(-1.0, -0.15865525393145707)]
    [InlineData(2.0, 1.9544997361036416)]
    [InlineData(-3.0, -0.0040496940948902)]
    [InlineData(0.0, 0.0)]
    public void Gelu_KnownValues_AreExactErfForm(double x, double expected)
    {
        Assert.Equal(expected, SpecialFunctions.Gelu(x), 1e-13);
        Span<float> values = [(float)x];
        SpecialFunctions.Gelu(values);
        Assert.Equal(expected, values[0], 1e-6);
    }
}
