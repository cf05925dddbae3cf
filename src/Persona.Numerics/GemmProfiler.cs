using System.Diagnostics;

namespace Persona.Numerics;

/// <summary>One recorded GEMM call: shape, backend, elapsed <see cref="Stopwatch"/> ticks and the thread it ran on.</summary>
public readonly record struct GemmCall(bool TransA, bool TransB, int M, int N, int K, int Batch, GemmBackend Backend, long Ticks, int ThreadId)
{
    /// <summary>Floating-point operations (2·m·n·k per matrix).</summary>
    public double Flops => 2.0 * M * N * K * Batch;

    /// <summary>Elapsed seconds.</summary>
    public double Seconds => (double)Ticks / Stopwatch.Frequency;
}

/// <summary>
/// Records every GEMM between <see cref="Start"/> and <see cref="Stop"/>, for benchmarks that attribute time to GEMM.
/// Off by default: a disabled profiler costs one static read per call.
/// </summary>
public static class GemmProfiler
{
    private static readonly Lock Gate = new();
    private static List<GemmCall>? _calls;

    public static bool IsEnabled => Volatile.Read(ref _calls) is not null;

    public static void Start()
    {
        lock (Gate)
        {
            _calls = [];
        }
    }

    public static IReadOnlyList<GemmCall> Stop()
    {
        lock (Gate)
        {
            var calls = _calls ?? [];
            _calls = null;
            return calls;
        }
    }

    internal static void Record(GemmCall call)
    {
        lock (Gate)
        {
            _calls?.Add(call);
        }
    }
}
