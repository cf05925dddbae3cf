using System.Diagnostics;
using Persona.Numerics;

namespace Persona.Benchmarks;

/// <summary>
/// Managed against OpenBLAS on square shapes, interleaved call by call so that both backends see the same machine
/// load (the box is shared); reports medians and the median of the per-round ratios.
/// </summary>
public static class GemmProbe
{
    public static void Run(string[] args)
    {
        var at = Array.IndexOf(args, "--gemm-probe");
        var sizes = at + 1 < args.Length && int.TryParse(args[at + 1], out var only) ? [only] : new[] { 256, 512, 1024 };
        Console.WriteLine($"cores {Environment.ProcessorCount}, OpenBLAS {(Gemm.IsOpenBlasAvailable ? OpenBlas.LibraryName : "absent")}");
        foreach (var n in sizes)
        {
            var a = GemmBenchmarks.Fill(n * n, 1);
            var b = GemmBenchmarks.Fill(n * n, 2);
            var c = new float[n * n];
            var rounds = Math.Max(15, (int)(3e10 / (2.0 * n * n * n)));
            var managed = new double[rounds];
            var blas = new double[rounds];
            var ratio = new double[rounds];
            for (var w = 0; w < 3; w++)
            {
                Time(GemmBackend.Managed, n, a, b, c);
                Time(GemmBackend.OpenBlas, n, a, b, c);
            }

            for (var r = 0; r < rounds; r++)
            {
                managed[r] = Time(GemmBackend.Managed, n, a, b, c);
                blas[r] = Gemm.IsOpenBlasAvailable ? Time(GemmBackend.OpenBlas, n, a, b, c) : double.NaN;
                ratio[r] = blas[r] / managed[r];
            }

            var flops = 2.0 * n * n * n;
            Console.WriteLine(
                $"n={n,5}  managed {flops / Median(managed) / 1e9,6:F1} GFLOP/s  OpenBLAS {flops / Median(blas) / 1e9,6:F1} GFLOP/s  " +
                $"managed/OpenBLAS median of {rounds} rounds {Median(ratio),6:P0}");
        }
    }

    private static double Time(GemmBackend backend, int n, float[] a, float[] b, float[] c)
    {
        using var scope = Gemm.UseBackend(backend);
        var clock = Stopwatch.StartNew();
        Gemm.Sgemm(false, false, n, n, n, 1f, a, n, b, n, 0f, c, n);
        return clock.Elapsed.TotalSeconds;
    }

    private static double Median(double[] values)
    {
        var sorted = (double[])values.Clone();
        Array.Sort(sorted);
        return sorted[sorted.Length / 2];
    }
}
