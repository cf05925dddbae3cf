using BenchmarkDotNet.Attributes;
using Persona.Numerics;

namespace Persona.Benchmarks;

/// <summary>Square single-precision GEMMs, managed kernels against OpenBLAS.</summary>
public class GemmBenchmarks : IFlopCount
{
    private float[] _a = [];
    private float[] _b = [];
    private float[] _c = [];

    [Params(64, 128, 256, 512, 1024)]
    public int Size { get; set; }

    [Params(GemmBackend.Managed, GemmBackend.OpenBlas)]
    public GemmBackend Backend { get; set; }

    public double FlopsPerInvocation => 2.0 * Size * Size * Size;

    [GlobalSetup]
    public void Setup()
    {
        _a = Fill(Size * Size, 1);
        _b = Fill(Size * Size, 2);
        _c = new float[Size * Size];
        Gemm.DefaultBackend = Backend;
    }

    [Benchmark]
    public void Sgemm() => Gemm.Sgemm(false, false, Size, Size, Size, 1f, _a, Size, _b, Size, 0f, _c, Size);

    internal static float[] Fill(int n, int seed)
    {
        var rng = new Random(seed);
        var x = new float[n];
        for (var i = 0; i < n; i++)
        {
            x[i] = (float)rng.NextDouble() - 0.5f;
        }

        return x;
    }
}

/// <summary>
/// The GEMMs one training step of the benchmark transformer (d = 64, 2 heads, FFN 256, seq 50, batch 256 → 12,800
/// rows; 12,101 items) actually issues, forward and backward.
/// </summary>
public class TransformerGemmBenchmarks : IFlopCount
{
    // name → (transA, transB, m, n, k, batch)
    private static readonly Dictionary<string, (bool TA, bool TB, int M, int N, int K, int Batch)> Shapes = new()
    {
        ["qkv x·Wt 12800x192x64"] = (false, true, 12800, 192, 64, 1),
        ["ffn1 x·Wt 12800x256x64"] = (false, true, 12800, 256, 64, 1),
        ["ffn2 x·Wt 12800x64x256"] = (false, true, 12800, 64, 256, 1),
        ["dX dY·W 12800x64x192"] = (false, false, 12800, 64, 192, 1),
        ["dW dYt·X 192x64x12800"] = (true, false, 192, 64, 12800, 1),
        ["attn Q·Kt 512x(50x50x32)"] = (false, true, 50, 50, 32, 512),
        ["attn P·V 512x(50x32x50)"] = (false, false, 50, 32, 50, 512),
        ["logits chunk 346x12101x64"] = (false, true, 346, 12101, 64, 1),
        ["logits dH 346x64x12101"] = (false, false, 346, 64, 12101, 1),
        ["logits dW 12101x64x346"] = (true, false, 12101, 64, 346, 1),
        ["sampled h·Nt 12800x256x64"] = (false, true, 12800, 256, 64, 1),
    };

    private float[] _a = [];
    private float[] _b = [];
    private float[] _c = [];

    [ParamsSource(nameof(ShapeNames))]
    public string Shape { get; set; } = "qkv x·Wt 12800x192x64";

    [Params(GemmBackend.Managed, GemmBackend.OpenBlas)]
    public GemmBackend Backend { get; set; }

    public static IEnumerable<string> ShapeNames => Shapes.Keys;

    public double FlopsPerInvocation
    {
        get
        {
            var s = Shapes[Shape];
            return 2.0 * s.M * s.N * s.K * s.Batch;
        }
    }

    [GlobalSetup]
    public void Setup()
    {
        var s = Shapes[Shape];
        _a = GemmBenchmarks.Fill(s.M * s.K * s.Batch, 1);
        _b = GemmBenchmarks.Fill(s.K * s.N * s.Batch, 2);
        _c = new float[s.M * s.N * s.Batch];
        Gemm.DefaultBackend = Backend;
    }

    [Benchmark]
    public void Sgemm()
    {
        var s = Shapes[Shape];
        Gemm.SgemmBatched(s.TA, s.TB, s.M, s.N, s.K, 1f, _a, s.TA ? s.M : s.K, s.M * s.K, _b, s.TB ? s.K : s.N, s.K * s.N, 0f, _c, s.N, s.M * s.N, s.Batch);
    }
}
