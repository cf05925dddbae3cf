using System.Diagnostics;
using Persona.Numerics;

namespace Persona.Benchmarks;

/// <summary>
/// Attributes a training step's wall time to GEMM. Every GEMM of a few steps is recorded by <see cref="GemmProfiler"/>;
/// calls made on worker threads inside the attention's parallel loop overlap each other, so their time is divided by
/// the core count. Also reports the step's achieved GFLOP/s against OpenBLAS's 1024³ rate on this machine.
/// </summary>
public static class StepProfile
{
    public static void Run(string[] args)
    {
        if (args.Contains("--breakdown"))
        {
            Breakdown();
            return;
        }

        var steps = 5;
        Console.WriteLine($"cores {Environment.ProcessorCount}, OpenBLAS {(Gemm.IsOpenBlasAvailable ? OpenBlas.LibraryName : "absent")}");
        var peak = PeakGflops();
        Console.WriteLine($"OpenBLAS 1024^3: {peak:F1} GFLOP/s");
        // --only-openblas / --only-managed and --only-sampled / --only-full narrow the run (e.g. for perf record).
        GemmBackend[] backends = args.Contains("--only-openblas") ? [GemmBackend.OpenBlas]
            : args.Contains("--only-managed") ? [GemmBackend.Managed]
            : [GemmBackend.OpenBlas, GemmBackend.Managed];
        bool[] losses = args.Contains("--only-sampled") ? [true] : args.Contains("--only-full") ? [false] : [false, true];
        if (args.Contains("--steps"))
        {
            steps = int.Parse(args[Array.IndexOf(args, "--steps") + 1], System.Globalization.CultureInfo.InvariantCulture);
        }

        foreach (var backend in backends)
        {
            Gemm.DefaultBackend = backend;
            foreach (var sampled in losses)
            {
                var model = new SequenceModel();
                model.Step(sampled); // warm-up: JIT, pools
                model.Step(sampled);
                var mainThread = Environment.CurrentManagedThreadId;
                GemmProfiler.Start();
                var clock = Stopwatch.StartNew();
                for (var i = 0; i < steps; i++)
                {
                    model.Step(sampled);
                }

                var wall = clock.Elapsed.TotalSeconds / steps;
                var calls = GemmProfiler.Stop();
                var onMain = calls.Where(c => c.ThreadId == mainThread).Sum(c => c.Seconds);
                var onWorkers = calls.Where(c => c.ThreadId != mainThread).Sum(c => c.Seconds) / Environment.ProcessorCount;
                var gemmSeconds = (onMain + onWorkers) / steps;
                var flops = calls.Sum(c => c.Flops) / steps;
                Console.WriteLine(
                    $"{Gemm.ActiveBackend,-8} {(sampled ? "sampled-256" : "full-softmax"),-12} step {wall * 1000,8:F1} ms  " +
                    $"{model.Batch / wall,7:F0} seq/s  GEMM {gemmSeconds / wall,6:P1} of wall  " +
                    $"GEMM {flops / gemmSeconds / 1e9,6:F1} GFLOP/s  step {flops / wall / 1e9,6:F1} GFLOP/s = {flops / wall / 1e9 / peak,6:P1} of OpenBLAS peak");
            }
        }
    }

    /// <summary>Forward / forward+backward / full step times, with and without dropout, on the active backend.</summary>
    private static void Breakdown()
    {
        foreach (var dropout in new[] { 0.2f, 0f })
        {
            foreach (var sampled in new[] { true, false })
            {
                var model = new SequenceModel(dropout: dropout);
                model.Step(sampled);
                var times = new double[3];
                for (var stop = 0; stop < 3; stop++)
                {
                    model.Step(sampled, stop);
                    var clock = Stopwatch.StartNew();
                    for (var i = 0; i < 3; i++)
                    {
                        model.Step(sampled, stop);
                    }

                    times[stop] = clock.Elapsed.TotalMilliseconds / 3;
                }

                Console.WriteLine($"{Gemm.ActiveBackend} dropout {dropout} {(sampled ? "sampled" : "full")}: forward {times[0]:F0} ms, +backward {times[1]:F0} ms, +clip/AdamW {times[2]:F0} ms; GCs gen0/1/2 {GC.CollectionCount(0)}/{GC.CollectionCount(1)}/{GC.CollectionCount(2)}");
            }
        }
    }

    private static double PeakGflops()
    {
        if (!Gemm.IsOpenBlasAvailable)
        {
            return double.NaN;
        }

        const int N = 1024;
        var a = GemmBenchmarks.Fill(N * N, 1);
        var b = GemmBenchmarks.Fill(N * N, 2);
        var c = new float[N * N];
        using var scope = Gemm.UseBackend(GemmBackend.OpenBlas);
        Gemm.Sgemm(false, false, N, N, N, 1f, a, N, b, N, 0f, c, N);
        var best = double.MaxValue;
        for (var i = 0; i < 5; i++)
        {
            var t = Stopwatch.StartNew();
            Gemm.Sgemm(false, false, N, N, N, 1f, a, N, b, N, 0f, c, N);
            best = Math.Min(best, t.Elapsed.TotalSeconds);
        }

        return 2.0 * N * N * N / best / 1e9;
    }
}
