using System.Diagnostics;

namespace Persona.Numerics;

/// <summary>
/// Single-precision GEMM, row-major: C = alpha·op(A)·op(B) + beta·C with op(X) = X or Xᵀ.
/// op(A) is m×k, op(B) is k×n, C is m×n; lda/ldb/ldc are row strides of the matrices as stored.
/// Runs on OpenBLAS when it loads and is not disabled (<c>PERSONA_BLAS=managed</c>, <see cref="DefaultBackend"/>,
/// or <see cref="UseBackend"/>), otherwise on <see cref="ManagedGemm"/>. beta = 0 never reads C.
/// </summary>
public static unsafe class Gemm
{
    private static readonly AsyncLocal<GemmBackend> ScopedBackend = new();

    /// <summary>Process-wide choice; starts from the <c>PERSONA_BLAS</c> environment variable (managed | openblas | auto).</summary>
    public static GemmBackend DefaultBackend { get; set; } = ParseBackend(Environment.GetEnvironmentVariable("PERSONA_BLAS"));

    /// <summary>True when OpenBLAS loaded.</summary>
    public static bool IsOpenBlasAvailable => OpenBlas.IsAvailable;

    /// <summary>The backend a call made now on this flow would use (never <see cref="GemmBackend.Auto"/>).</summary>
    public static GemmBackend ActiveBackend
    {
        get
        {
            var requested = ScopedBackend.Value != GemmBackend.Auto ? ScopedBackend.Value : DefaultBackend;
            return requested == GemmBackend.Managed || !OpenBlas.IsAvailable ? GemmBackend.Managed : GemmBackend.OpenBlas;
        }
    }

    /// <summary>Selects a backend for this execution flow (and the parallel work it starts) until disposed.</summary>
    public static IDisposable UseBackend(GemmBackend backend)
    {
        var previous = ScopedBackend.Value;
        ScopedBackend.Value = backend;
        return new Scope(previous);
    }

    /// <summary>C = alpha·op(A)·op(B) + beta·C.</summary>
    public static void Sgemm(
        bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb, float beta, Span<float> c, int ldc)
    {
        Validate(transA, transB, m, n, k, a.Length, lda, b.Length, ldb, c.Length, ldc);
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var backend = ActiveBackend;
            var start = GemmProfiler.IsEnabled ? Stopwatch.GetTimestamp() : 0;
            Run(backend, transA, transB, m, n, k, alpha, pa, lda, pb, ldb, beta, pc, ldc);
            if (start != 0)
            {
                GemmProfiler.Record(new GemmCall(transA, transB, m, n, k, 1, backend, Stopwatch.GetTimestamp() - start, Environment.CurrentManagedThreadId));
            }
        }
    }

    /// <summary>
    /// <paramref name="batchCount"/> independent GEMMs; matrix i of each operand starts at i·stride (a stride of 0 shares
    /// the operand). Small matrices are spread over the cores by batch, large ones by rows inside each GEMM.
    /// </summary>
    public static void SgemmBatched(
        bool transA, bool transB, int m, int n, int k, float alpha,
        ReadOnlySpan<float> a, int lda, int strideA, ReadOnlySpan<float> b, int ldb, int strideB,
        float beta, Span<float> c, int ldc, int strideC, int batchCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchCount);
        ArgumentOutOfRangeException.ThrowIfNegative(strideA);
        ArgumentOutOfRangeException.ThrowIfNegative(strideB);
        ArgumentOutOfRangeException.ThrowIfNegative(strideC);
        if (batchCount == 0)
        {
            return;
        }

        var last = batchCount - 1;
        Validate(transA, transB, m, n, k, a.Length - ((long)last * strideA), lda, b.Length - ((long)last * strideB), ldb, c.Length - ((long)last * strideC), ldc);
        if (batchCount > 1 && strideC < (long)(m - 1) * ldc + n && m > 0 && n > 0)
        {
            throw new ArgumentException("Output matrices of a batch overlap (strideC too small).", nameof(strideC));
        }

        var backend = ActiveBackend;
        var start = GemmProfiler.IsEnabled ? Stopwatch.GetTimestamp() : 0;
        fixed (float* pa = a)
        fixed (float* pb = b)
        fixed (float* pc = c)
        {
            var small = (long)m * n * k < (1L << 21);
            if (batchCount == 1 || !small || Environment.ProcessorCount == 1)
            {
                for (var i = 0; i < batchCount; i++)
                {
                    Run(backend, transA, transB, m, n, k, alpha, pa + ((long)i * strideA), lda, pb + ((long)i * strideB), ldb, beta, pc + ((long)i * strideC), ldc);
                }
            }
            else
            {
                nint ia = (nint)pa, ib = (nint)pb, ic = (nint)pc;
                var chunks = Math.Min(batchCount, 4 * Environment.ProcessorCount);
                Parallel.For(0, chunks, chunk =>
                {
                    var lo = (int)((long)batchCount * chunk / chunks);
                    var hi = (int)((long)batchCount * (chunk + 1) / chunks);
                    for (var i = lo; i < hi; i++)
                    {
                        Run(backend, transA, transB, m, n, k, alpha, (float*)ia + ((long)i * strideA), lda, (float*)ib + ((long)i * strideB), ldb, beta, (float*)ic + ((long)i * strideC), ldc);
                    }
                });
            }
        }

        if (start != 0)
        {
            GemmProfiler.Record(new GemmCall(transA, transB, m, n, k, batchCount, backend, Stopwatch.GetTimestamp() - start, Environment.CurrentManagedThreadId));
        }
    }

    /// <summary>Reads a backend name as used by <c>PERSONA_BLAS</c>.</summary>
    public static GemmBackend ParseBackend(string? value) => value?.Trim().ToLowerInvariant() switch
    {
        "managed" or "off" or "none" or "0" => GemmBackend.Managed,
        "openblas" or "blas" or "on" or "1" => GemmBackend.OpenBlas,
        _ => GemmBackend.Auto,
    };

    private static void Run(
        GemmBackend backend, bool transA, bool transB, int m, int n, int k, float alpha,
        float* a, int lda, float* b, int ldb, float beta, float* c, int ldc)
    {
        if (m == 0 || n == 0)
        {
            return;
        }

        if (backend == GemmBackend.OpenBlas && k > 0)
        {
            OpenBlas.Sgemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
        }
        else
        {
            ManagedGemm.Run(ManagedKernel.Auto, transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc, allowParallel: true);
        }
    }

    internal static void Validate(bool transA, bool transB, int m, int n, int k, long aLength, int lda, long bLength, int ldb, long cLength, int ldc)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(m);
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        ArgumentOutOfRangeException.ThrowIfNegative(k);
        Check(transA ? k : m, transA ? m : k, aLength, lda, "A");
        Check(transB ? n : k, transB ? k : n, bLength, ldb, "B");
        Check(m, n, cLength, ldc, "C");

        static void Check(int rows, int cols, long length, int ld, string name)
        {
            if (ld < Math.Max(1, cols))
            {
                throw new ArgumentException($"Leading dimension of {name} is {ld}, below its {cols} columns.");
            }

            var need = rows == 0 || cols == 0 ? 0 : ((long)(rows - 1) * ld) + cols;
            if (length < need)
            {
                throw new ArgumentException($"{name} holds {length} floats; a {rows}×{cols} matrix with stride {ld} needs {need}.");
            }
        }
    }

    private sealed class Scope(GemmBackend previous) : IDisposable
    {
        public void Dispose() => ScopedBackend.Value = previous;
    }
}
