using FsCheck;
using FsCheck.Fluent;
using Persona.Numerics;

namespace Persona.Numerics.Tests;

public class ActivationsTests
{
    [Fact]
    public void Gelu_RandomInputs_MatchesDoublePrecisionErf()
    {
        var prop = Prop.ForAll(Gen.Choose(1, 70).ToArbitrary(), n =>
        {
            var rng = new Random(n);
            var x = new float[n];
            for (var i = 0; i < n; i++)
            {
                x[i] = (float)((rng.NextDouble() - 0.5) * 16);
            }

            var y = new float[n];
            Activations.Gelu(x, y);
            for (var i = 0; i < n; i++)
            {
                var expected = x[i] * 0.5 * (1 + Erf(x[i] / Math.Sqrt(2)));
                Assert.True(Math.Abs(expected - y[i]) <= 2e-6 * Math.Max(1, Math.Abs(x[i])), $"x={x[i]} expected {expected} got {y[i]}");
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(50), prop);
    }

    [Fact]
    public void GeluBackward_RandomInputs_MatchesCentralDifferenceAndAccumulates()
    {
        var rng = new Random(3);
        const int N = 37;
        var x = new float[N];
        var dy = new float[N];
        var dx = new float[N];
        for (var i = 0; i < N; i++)
        {
            x[i] = (float)((rng.NextDouble() - 0.5) * 8);
            dy[i] = (float)(rng.NextDouble() - 0.5);
            dx[i] = 1f;
        }

        Activations.GeluBackward(x, dy, dx);
        for (var i = 0; i < N; i++)
        {
            const double H = 1e-4;
            double G(double v) => v * 0.5 * (1 + Erf(v / Math.Sqrt(2)));
            var numeric = (G(x[i] + H) - G(x[i] - H)) / (2 * H);
            Assert.Equal(1 + (dy[i] * numeric), dx[i], 1e-5);
        }
    }

    [Fact]
    public void GeluWithDerivative_InPlace_MatchesGeluAndGeluBackward()
    {
        var prop = Prop.ForAll(Gen.Choose(1, 70).ToArbitrary(), n =>
        {
            var rng = new Random(n + 100);
            var x = new float[n];
            for (var i = 0; i < n; i++)
            {
                x[i] = (float)((rng.NextDouble() - 0.5) * 16);
            }

            var y = new float[n];
            var slope = new float[n];
            var ones = new float[n];
            Array.Fill(ones, 1f);
            Activations.Gelu(x, y);
            Activations.GeluBackward(x, ones, slope);
            var inPlace = (float[])x.Clone();
            var derivative = new float[n];
            Activations.GeluWithDerivative(inPlace, inPlace, derivative);
            var scale = new float[n];
            for (var i = 0; i < n; i++)
            {
                scale[i] = i % 3 == 0 ? 0f : 1.25f;
            }

            var scaledY = new float[n];
            var scaledDerivative = new float[n];
            Activations.GeluWithDerivative(x, scaledY, scaledDerivative, scale);
            for (var i = 0; i < n; i++)
            {
                Assert.Equal(y[i], inPlace[i], 6);
                Assert.Equal(slope[i], derivative[i], 6);
                Assert.Equal(y[i] * scale[i], scaledY[i], 6);
                Assert.Equal(slope[i] * scale[i], scaledDerivative[i], 6);
            }
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(50), prop);
    }

    [Fact]
    public void Phi_Extremes_AreFiniteAndBounded()
    {
        Assert.Equal(1f, Activations.Phi(40f, out var pdf));
        Assert.Equal(0f, pdf);
        Assert.Equal(0f, Activations.Phi(-40f, out _));
        Assert.Equal(0.5f, Activations.Phi(0f, out _), 6);
    }

    // erf by its Maclaurin series (|x| < 3) or the asymptotic continued fraction; accurate to ~1e-13 here.
    private static double Erf(double x)
    {
        var ax = Math.Abs(x);
        double result;
        if (ax < 3)
        {
            double sum = 0, term = ax;
            for (var n = 0; n < 200; n++)
            {
                sum += term / (2 * n + 1);
                term *= -ax * ax / (n + 1);
            }

            result = 2 / Math.Sqrt(Math.PI) * sum;
        }
        else
        {
            double f = 0;
            for (var n = 60; n >= 1; n--)
            {
                f = n / 2.0 / (ax + f);
            }

            result = 1 - Math.Exp(-ax * ax) / Math.Sqrt(Math.PI) / (ax + f);
        }

        return x < 0 ? -result : result;
    }
}
