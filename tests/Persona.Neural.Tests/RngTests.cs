using Persona.Neural;

namespace Persona.Neural.Tests;

public class RngTests
{
    [Theory]
    [InlineData(0.1f)]
    [InlineData(0.5f)]
    public void FillDropoutMask_ParallelAndSerial_SameBitsAndDropRateNearP(float p)
    {
        const int N = 200_003; // many parallel blocks and a ragged vector tail
        var parallel = new float[N + 5];
        var serial = new float[N];
        new Rng(42).FillDropoutMask(parallel, N, p);
        new Rng(42).FillDropoutMask(serial, p);
        Assert.Equal(serial, parallel.AsSpan(0, N).ToArray());
        Assert.All(parallel.AsSpan(N).ToArray(), v => Assert.Equal(0f, v));

        var keep = 1f / (1f - p);
        Assert.All(serial, v => Assert.True(v == 0f || v == keep));
        var dropped = serial.Count(v => v == 0f) / (double)N;
        Assert.InRange(dropped, p - 0.005, p + 0.005); // ~5 standard deviations at N = 200 K

        // Neighbouring elements are not correlated: P(both dropped) ≈ p².
        var pairs = 0;
        for (var i = 1; i < N; i++)
        {
            pairs += serial[i] == 0f && serial[i - 1] == 0f ? 1 : 0;
        }

        Assert.InRange(pairs / (double)(N - 1), (p * p) - 0.006, (p * p) + 0.006);
    }

    [Fact]
    public void FillDropoutMask_SuccessiveCalls_DrawDifferentMasks()
    {
        var rng = new Rng(7);
        var a = new float[256];
        var b = new float[256];
        rng.FillDropoutMask(a, 0.5f);
        rng.FillDropoutMask(b, 0.5f);
        Assert.NotEqual(a, b);
    }
}
