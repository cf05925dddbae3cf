using FsCheck;
using FsCheck.Fluent;
using Persona.Numerics;

namespace Persona.Numerics.Tests;

public class GemmTests
{
    public static TheoryData<ManagedKernel> Kernels =>
        [ManagedKernel.Scalar, ManagedKernel.Vector128, ManagedKernel.Vector256, ManagedKernel.Vector512];

    [Theory]
    [MemberData(nameof(Kernels))]
    public void ManagedKernel_RandomShapesAndTransposes_MatchesScalarLoop(ManagedKernel kernel)
    {
        var prop = Prop.ForAll(ShapeArb(40), shape =>
        {
            var (a, b, c, expected) = Case(shape);
            ManagedGemm.Sgemm(kernel, shape.TransA, shape.TransB, shape.M, shape.N, shape.K, shape.Alpha, a, shape.Lda, b, shape.Ldb, shape.Beta, c, shape.Ldc);
            AssertClose(expected, c, shape.K);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), prop);
    }

    [OpenBlasFact]
    public void OpenBlas_RandomShapesAndTransposes_MatchesScalarLoop()
    {
        using var scope = Gemm.UseBackend(GemmBackend.OpenBlas);
        Assert.Equal(GemmBackend.OpenBlas, Gemm.ActiveBackend);
        var prop = Prop.ForAll(ShapeArb(40), shape =>
        {
            var (a, b, c, expected) = Case(shape);
            Gemm.Sgemm(shape.TransA, shape.TransB, shape.M, shape.N, shape.K, shape.Alpha, a, shape.Lda, b, shape.Ldb, shape.Beta, c, shape.Ldc);
            AssertClose(expected, c, shape.K);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(60), prop);
    }

    [Fact]
    public void Managed_LargeShapesCrossingBlocksAndThreads_MatchesScalarLoop() => LargeShapes(GemmBackend.Managed);

    [OpenBlasFact]
    public void OpenBlas_LargeShapes_MatchesScalarLoop() => LargeShapes(GemmBackend.OpenBlas);

    [Fact]
    public void Managed_PanelsPackedInParallelWithBetaZeroAndOne_MatchesScalarLoop()
    {
        using var scope = Gemm.UseBackend(GemmBackend.Managed);
        // B panels large enough to be packed by all threads, three K blocks (the last ragged), full and edge tiles;
        // beta 0 must ignore NaN in C (the full-tile store path never reads it).
        var rng = new Random(11);
        foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
        {
            foreach (var beta in new[] { 0f, 1f })
            {
                var shape = new Shape(200, 300, 600, ta, tb, ta ? 200 : 600, tb ? 600 : 300, 300, 1f, beta);
                var (a, b, c, expected) = Case(shape, rng);
                if (beta == 0f)
                {
                    Array.Fill(c, float.NaN);
                }

                Gemm.Sgemm(ta, tb, shape.M, shape.N, shape.K, shape.Alpha, a, shape.Lda, b, shape.Ldb, shape.Beta, c, shape.Ldc);
                AssertClose(expected, c, shape.K);
            }
        }
    }

    private static void LargeShapes(GemmBackend backend)
    {
        using var scope = Gemm.UseBackend(backend);
        // Shapes that hit the parallel row-block path, the column-strip path, the K-split path and Nc/Kc edges.
        int[][] shapes = [[300, 70, 530], [70, 2100, 33], [20, 24, 2000], [193, 129, 257]];
        var rng = new Random(7);
        foreach (var s in shapes)
        {
            foreach (var (ta, tb) in new[] { (false, false), (true, false), (false, true), (true, true) })
            {
                var shape = new Shape(s[0], s[1], s[2], ta, tb, ta ? s[0] : s[2], tb ? s[2] : s[1], s[1], 0.5f, 0.25f);
                var (a, b, c, expected) = Case(shape, rng);
                Gemm.Sgemm(ta, tb, shape.M, shape.N, shape.K, shape.Alpha, a, shape.Lda, b, shape.Ldb, shape.Beta, c, shape.Ldc);
                AssertClose(expected, c, shape.K);
            }
        }
    }

    [Theory]
    [InlineData(1, 2)]
    [InlineData(0, 9)]
    public void ManagedBatched_StridedBatches_MatchesPerMatrixScalarLoop(int shareB, int batch) => Batched(GemmBackend.Managed, shareB, batch);

    [OpenBlasTheory]
    [InlineData(1, 2)]
    [InlineData(0, 9)]
    public void OpenBlasBatched_StridedBatches_MatchesPerMatrixScalarLoop(int shareB, int batch) => Batched(GemmBackend.OpenBlas, shareB, batch);

    private static void Batched(GemmBackend backend, int shareB, int batch)
    {
        using var scope = Gemm.UseBackend(backend);
        var prop = Prop.ForAll(ShapeArb(20), shape =>
        {
            var rng = new Random(shape.M * 31 + shape.N);
            var aLen = (shape.TransA ? shape.K : shape.M) * shape.Lda;
            var bLen = (shape.TransB ? shape.N : shape.K) * shape.Ldb;
            var cLen = shape.M * shape.Ldc;
            var strideA = aLen + 3;
            var strideB = shareB == 1 ? 0 : bLen + 1;
            var strideC = cLen + 2;
            var a = Random(rng, strideA * batch);
            var b = Random(rng, Math.Max(strideB * batch, bLen));
            var c = Random(rng, strideC * batch);
            var expected = (float[])c.Clone();
            for (var i = 0; i < batch; i++)
            {
                Reference(shape, a.AsSpan(i * strideA), b.AsSpan(i * strideB), expected.AsSpan(i * strideC));
            }

            Gemm.SgemmBatched(shape.TransA, shape.TransB, shape.M, shape.N, shape.K, shape.Alpha, a, shape.Lda, strideA, b, shape.Ldb, strideB, shape.Beta, c, shape.Ldc, strideC, batch);
            AssertClose(expected, c, shape.K);
        });
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(25), prop);
    }

    [Fact]
    public void Sgemm_BetaZero_IgnoresNaNInOutput()
    {
        float[] a = [1, 2, 3, 4];
        float[] b = [1, 0, 0, 1];
        float[] c = [float.NaN, float.NaN, float.NaN, float.NaN];
        ManagedGemm.Sgemm(ManagedKernel.Auto, false, false, 2, 2, 2, 1f, a, 2, b, 2, 0f, c, 2);
        Assert.Equal(a, c);
    }

    [Fact]
    public void Sgemm_ZeroK_ScalesOutputByBeta()
    {
        float[] c = [1, 2, 3, 4];
        Gemm.Sgemm(false, false, 2, 2, 0, 1f, [], 1, [], 2, 0.5f, c, 2);
        Assert.Equal([0.5f, 1f, 1.5f, 2f], c);
    }

    [Fact]
    public void Sgemm_ShortSpan_Throws()
    {
        var c = new float[4];
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 2, 1f, new float[3], 2, new float[4], 2, 0f, c, 2));
        Assert.Throws<ArgumentException>(() => Gemm.Sgemm(false, false, 2, 2, 2, 1f, new float[4], 1, new float[4], 2, 0f, c, 2));
    }

    [Theory]
    [InlineData("managed", GemmBackend.Managed)]
    [InlineData("OpenBLAS", GemmBackend.OpenBlas)]
    [InlineData(null, GemmBackend.Auto)]
    [InlineData("whatever", GemmBackend.Auto)]
    public void Parse_EnvironmentValue_SelectsBackend(string? value, GemmBackend expected) =>
        Assert.Equal(expected, Gemm.ParseBackend(value));

    [Fact]
    public void UseBackend_Managed_OverridesUntilDisposed()
    {
        using (Gemm.UseBackend(GemmBackend.Managed))
        {
            Assert.Equal(GemmBackend.Managed, Gemm.ActiveBackend);
        }

        var expected = Gemm.DefaultBackend == GemmBackend.Managed || !Gemm.IsOpenBlasAvailable ? GemmBackend.Managed : GemmBackend.OpenBlas;
        Assert.Equal(expected, Gemm.ActiveBackend);
    }

    [Fact]
    public void GemmProfiler_Enabled_RecordsCallShapes()
    {
        GemmProfiler.Start();
        Gemm.Sgemm(false, true, 3, 4, 5, 1f, new float[15], 5, new float[20], 5, 0f, new float[12], 4);
        var calls = GemmProfiler.Stop();
        Assert.Contains(calls, c => c is { M: 3, N: 4, K: 5, TransB: true, TransA: false });
        Assert.False(GemmProfiler.IsEnabled);
    }

    internal sealed record Shape(int M, int N, int K, bool TransA, bool TransB, int Lda, int Ldb, int Ldc, float Alpha, float Beta);

    private static Arbitrary<Shape> ShapeArb(int max)
    {
        var gen =
            from m in Gen.Choose(1, max)
            from n in Gen.Choose(1, max)
            from k in Gen.Choose(1, max)
            from ta in ArbMap.Default.GeneratorFor<bool>()
            from tb in ArbMap.Default.GeneratorFor<bool>()
            from pad in Gen.Choose(0, 3)
            from alpha in Gen.Elements(1f, -0.5f, 2f)
            from beta in Gen.Elements(0f, 1f, 0.3f)
            select new Shape(m, n, k, ta, tb, (ta ? m : k) + pad, (tb ? k : n) + pad, n + pad, alpha, beta);
        return gen.ToArbitrary();
    }

    private static (float[] A, float[] B, float[] C, float[] Expected) Case(Shape s, Random? rng = null)
    {
        rng ??= new Random(s.M * 7919 + s.N * 104729 + s.K);
        var a = Random(rng, (s.TransA ? s.K : s.M) * s.Lda);
        var b = Random(rng, (s.TransB ? s.N : s.K) * s.Ldb);
        var c = Random(rng, s.M * s.Ldc);
        var expected = (float[])c.Clone();
        Reference(s, a, b, expected);
        return (a, b, c, expected);
    }

    // Plain triple loop in double precision; padding columns of C must stay untouched.
    private static void Reference(Shape s, ReadOnlySpan<float> a, ReadOnlySpan<float> b, Span<float> c)
    {
        for (var i = 0; i < s.M; i++)
        {
            for (var j = 0; j < s.N; j++)
            {
                double sum = 0;
                for (var p = 0; p < s.K; p++)
                {
                    var av = s.TransA ? a[p * s.Lda + i] : a[i * s.Lda + p];
                    var bv = s.TransB ? b[j * s.Ldb + p] : b[p * s.Ldb + j];
                    sum += (double)av * bv;
                }

                var prior = s.Beta == 0f ? 0.0 : s.Beta * (double)c[i * s.Ldc + j];
                c[i * s.Ldc + j] = (float)((s.Alpha * sum) + prior);
            }
        }
    }

    private static float[] Random(Random rng, int n)
    {
        var x = new float[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = (float)((rng.NextDouble() * 2) - 1);
        }

        return x;
    }

    private static void AssertClose(float[] expected, float[] actual, int k)
    {
        var tol = 1e-5f * (k + 4);
        for (var i = 0; i < expected.Length; i++)
        {
            if (!(MathF.Abs(expected[i] - actual[i]) <= tol))
            {
                throw new Xunit.Sdk.XunitException($"index {i}: expected {expected[i]}, got {actual[i]} (tol {tol})");
            }
        }
    }
}
